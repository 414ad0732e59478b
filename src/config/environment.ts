import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidEnvironmentError } from './invalid-environment.error';

/** The validated process environment the app, the Prisma CLI config and the db scripts run with. */
export interface Environment {
  nodeEnv: 'development' | 'production' | 'test';
  /**
   * Pooled runtime connection (PgBouncer / Supabase transaction pooler), as the runtime role.
   * `undefined` outside production means "use the embedded PostgreSQL".
   */
  databaseUrl: string | undefined;
  /** Direct connection for migrations, as the owner role. Set exactly when `databaseUrl` is set. */
  directUrl: string | undefined;
  /** Connection as the `app_admin` role, for the logged system client. Optional. */
  systemDatabaseUrl: string | undefined;
  /** HS256 secret; a fixed development secret is used (with a warning) outside production. */
  jwtSecret: string;
  /** True when `jwtSecret` is the built-in development secret. */
  jwtSecretIsDevelopmentDefault: boolean;
  /** PEM public key: when set, RS256 tokens signed by its private key are accepted too. */
  jwtPublicKey: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  port: number;
}

/**
 * A secret that is only ever used when JWT_SECRET is unset outside production, so that the demo runs
 * on a fresh clone. It is public (it is in this file): never use it for anything that matters.
 */
export const DEVELOPMENT_JWT_SECRET = 'development-only-secret-do-not-use-in-production-0123456789';

const POSTGRES_URL_EXAMPLE =
  'postgresql://app_runtime:app_runtime@localhost:6432/app?pgbouncer=true';
const DIRECT_URL_EXAMPLE = 'postgresql://postgres:postgres@localhost:5432/app';

interface VariableSpec {
  name: string;
  purpose: string;
  example: string;
}

const VARIABLES = {
  DATABASE_URL: {
    name: 'DATABASE_URL',
    purpose: 'pooled connection the app uses at run time, as the runtime role app_runtime',
    example: POSTGRES_URL_EXAMPLE,
  },
  DIRECT_URL: {
    name: 'DIRECT_URL',
    purpose: 'direct (unpooled) connection that migrations use, as the owner role',
    example: DIRECT_URL_EXAMPLE,
  },
  SYSTEM_DATABASE_URL: {
    name: 'SYSTEM_DATABASE_URL',
    purpose: 'connection for the logged cross-tenant system client, as the role app_admin',
    example: 'postgresql://app_admin:app_admin@localhost:5432/app',
  },
  JWT_SECRET: {
    name: 'JWT_SECRET',
    purpose: 'HS256 secret that verifies bearer tokens (at least 32 characters)',
    example: 'b3f1c0e6a9d84f27a1e5c7d9f0b2a4c6e8d0f1a3b5c7d9e1f3a5b7c9d1e3f5a7',
  },
  JWT_PUBLIC_KEY: {
    name: 'JWT_PUBLIC_KEY',
    purpose: 'PEM public key that verifies RS256 bearer tokens (optional)',
    example: '"-----BEGIN PUBLIC KEY-----\\nMIIBIjANBg...\\n-----END PUBLIC KEY-----"',
  },
  PORT: {
    name: 'PORT',
    purpose: 'HTTP port of the API (default 3000)',
    example: '3000',
  },
  NODE_ENV: {
    name: 'NODE_ENV',
    purpose: 'run mode: development, production or test (default development)',
    example: 'production',
  },
} satisfies Record<string, VariableSpec>;

function problem(spec: VariableSpec, what: string): string {
  return `${spec.name} ${what}. It is the ${spec.purpose}. Example: ${spec.name}=${spec.example}`;
}

function postgresUrl(
  spec: VariableSpec,
  raw: string | undefined,
  problems: string[],
): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(problem(spec, 'is not a valid URL'));
    return undefined;
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    problems.push(problem(spec, `must start with postgresql:// (got ${url.protocol}//)`));
    return undefined;
  }
  if (!url.hostname || url.pathname.length <= 1) {
    problems.push(problem(spec, 'must name a host and a database'));
    return undefined;
  }
  return value;
}

/**
 * Loads `.env` from the working directory (when present and not already loaded) into
 * `process.env`. Variables already set in the environment win over the file.
 */
export function loadDotEnv(cwd: string = process.cwd()): void {
  const file = resolve(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * Validates the environment and returns it typed. Every problem is reported at once, each naming
 * the variable, what it is for and an example value.
 *
 * @throws InvalidEnvironmentError when a variable is missing or malformed.
 */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const problems: string[] = [];

  const rawNodeEnv = env.NODE_ENV?.trim() || 'development';
  if (!['development', 'production', 'test'].includes(rawNodeEnv)) {
    problems.push(problem(VARIABLES.NODE_ENV, `is "${rawNodeEnv}"`));
  }
  const nodeEnv = rawNodeEnv as Environment['nodeEnv'];
  const production = nodeEnv === 'production';

  const databaseUrl = postgresUrl(VARIABLES.DATABASE_URL, env.DATABASE_URL, problems);
  const directUrl = postgresUrl(VARIABLES.DIRECT_URL, env.DIRECT_URL, problems);
  const systemDatabaseUrl = postgresUrl(
    VARIABLES.SYSTEM_DATABASE_URL,
    env.SYSTEM_DATABASE_URL,
    problems,
  );
  const databaseGiven = Boolean(env.DATABASE_URL?.trim());
  const directGiven = Boolean(env.DIRECT_URL?.trim());
  if (production && !databaseGiven) {
    problems.push(problem(VARIABLES.DATABASE_URL, 'is required in production'));
  }
  if (databaseGiven && !directGiven) {
    problems.push(
      problem(
        VARIABLES.DIRECT_URL,
        'is required when DATABASE_URL is set (migrations bypass the pooler)',
      ),
    );
  }
  if (directGiven && !databaseGiven && !production) {
    problems.push(
      problem(
        VARIABLES.DATABASE_URL,
        'is required when DIRECT_URL is set (unset both to use the embedded PostgreSQL)',
      ),
    );
  }

  const rawSecret = env.JWT_SECRET;
  let jwtSecret = DEVELOPMENT_JWT_SECRET;
  let jwtSecretIsDevelopmentDefault = false;
  if (rawSecret === undefined || rawSecret === '') {
    if (production) problems.push(problem(VARIABLES.JWT_SECRET, 'is required in production'));
    jwtSecretIsDevelopmentDefault = true;
  } else if (rawSecret.length < 32) {
    problems.push(problem(VARIABLES.JWT_SECRET, `is ${rawSecret.length} characters long`));
  } else {
    jwtSecret = rawSecret;
  }

  let jwtPublicKey: string | undefined;
  const rawKey = env.JWT_PUBLIC_KEY?.trim();
  if (rawKey) {
    const pem = rawKey.replace(/\\n/g, '\n');
    if (!/^-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+-----END (RSA )?PUBLIC KEY-----$/.test(pem)) {
      problems.push(problem(VARIABLES.JWT_PUBLIC_KEY, 'is not a PEM public key'));
    } else {
      jwtPublicKey = pem;
    }
  }

  let port = 3000;
  const rawPort = env.PORT?.trim();
  if (rawPort) {
    const parsed = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || parsed < 1 || parsed > 65535) {
      problems.push(problem(VARIABLES.PORT, `is "${rawPort}", not a port number from 1 to 65535`));
    } else {
      port = parsed;
    }
  }

  if (problems.length > 0) throw new InvalidEnvironmentError(problems);

  return {
    nodeEnv,
    databaseUrl,
    directUrl,
    systemDatabaseUrl,
    jwtSecret,
    jwtSecretIsDevelopmentDefault,
    jwtPublicKey,
    jwtIssuer: env.JWT_ISSUER?.trim() || undefined,
    jwtAudience: env.JWT_AUDIENCE?.trim() || undefined,
    port,
  };
}
