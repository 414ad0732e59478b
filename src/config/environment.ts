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
  /**
   * HS256 secret. The public development secret only with the embedded PostgreSQL (never in
   * production); `''` when a real database is configured with `JWT_PUBLIC_KEY` alone (RS256 only).
   */
  jwtSecret: string;
  /** True when `jwtSecret` is the built-in development secret. */
  jwtSecretIsDevelopmentDefault: boolean;
  /** PEM public key: when set, RS256 tokens signed by its private key are accepted too. */
  jwtPublicKey: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  /**
   * Key that signs the tenant setting the database's Row-Level Security policies verify. The public
   * development key only with the embedded PostgreSQL (never in production).
   */
  tenantSettingSecret: string;
  /** True when `tenantSettingSecret` is the built-in development key. */
  tenantSettingSecretIsDevelopmentDefault: boolean;
  /** Rate limit of the demo app per client address and route; `false`: off. */
  throttle: ThrottleOptions | false;
  port: number;
}

/** The demo app's rate limit: at most `limit` requests per client address and route per `ttlMs`. */
export interface ThrottleOptions {
  limit: number;
  ttlMs: number;
}

/** `THROTTLE_LIMIT` / `THROTTLE_TTL_MS` when unset: 600 requests per minute per address and route. */
export const DEFAULT_THROTTLE: ThrottleOptions = { limit: 600, ttlMs: 60_000 };

/**
 * The JWT secret used when JWT_SECRET is unset and the database is the embedded PostgreSQL, so that
 * the demo runs on a fresh clone. It is public (it is in this file): it is refused with any other
 * database and in production.
 */
export const DEVELOPMENT_JWT_SECRET = 'development-only-secret-do-not-use-in-production-0123456789';

/**
 * The tenant setting key used when TENANT_SETTING_SECRET is unset and the database is the embedded
 * PostgreSQL. Public, like {@link DEVELOPMENT_JWT_SECRET}, and refused in the same places.
 */
export const DEVELOPMENT_TENANT_SETTING_SECRET =
  'development-only-tenant-setting-key-do-not-use-in-production-0123456789';

/** How the messages tell to generate a secret. */
export const GENERATE_SECRET_COMMAND = `node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`;

/** Shortest secret accepted. */
const MIN_SECRET_LENGTH = 32;

/**
 * Values that stand for a secret without being one, compared in lower case without separators:
 * what `.env.example` shipped, the usual stand-ins, and the public development secrets.
 */
const PLACEHOLDER_SECRETS = new Set(
  [
    'change-me-to-a-random-string-of-at-least-32-characters',
    'changeme',
    'secret',
    'password',
    'jwt-secret',
    'your-secret',
    'your-jwt-secret',
    'supersecret',
    'mysecret',
    'default',
    'test',
    'development',
  ].map((value) => normalizeSecret(value)),
);
/** Words that mark a stand-in wherever they appear in the value. */
const PLACEHOLDER_WORDS = /changeme|replaceme|placeholder|yoursecret|donotuse|notasecret|example/;
/** Fewer distinct characters than this (`aaaa...`, `1234...1234`) is not a secret. */
const MIN_DISTINCT_CHARACTERS = 8;

function normalizeSecret(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isPlaceholder(value: string): boolean {
  const normalized = normalizeSecret(value);
  return (
    PLACEHOLDER_SECRETS.has(normalized) ||
    PLACEHOLDER_WORDS.test(normalized) ||
    new Set(value).size < MIN_DISTINCT_CHARACTERS
  );
}

const EMBEDDED_DEFAULT_PORT = 54329;
/** The embedded cluster's local roles and their public passwords (src/database). */
const EMBEDDED_CREDENTIALS = new Set([
  'postgres:postgres',
  'app_runtime:app_runtime',
  'app_admin:app_admin',
]);

/**
 * True when `url` is the embedded PostgreSQL itself: 127.0.0.1 on EMBEDDED_PG_PORT, as one of its
 * roles with its public local password. The app's own tools hand such URLs to the Prisma CLI and
 * the seed they start. A database reachable with public credentials protects nothing a secret
 * could, so the public development secrets may serve it.
 */
function isEmbeddedUrl(url: string, env: NodeJS.ProcessEnv): boolean {
  const parsed = new URL(url);
  const port = Number(env.EMBEDDED_PG_PORT?.trim() || EMBEDDED_DEFAULT_PORT);
  return (
    parsed.hostname === '127.0.0.1' &&
    Number(parsed.port || 5432) === port &&
    EMBEDDED_CREDENTIALS.has(
      `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`,
    )
  );
}

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
    example: '<the output of that command>',
  },
  TENANT_SETTING_SECRET: {
    name: 'TENANT_SETTING_SECRET',
    purpose:
      "key that signs the tenant setting the database's Row-Level Security policies verify (at least 32 characters)",
    example: '<the output of that command>',
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
  THROTTLE_LIMIT: {
    name: 'THROTTLE_LIMIT',
    purpose: `most requests per client address and route in THROTTLE_TTL_MS (default ${DEFAULT_THROTTLE.limit}; 0: no limit)`,
    example: String(DEFAULT_THROTTLE.limit),
  },
  THROTTLE_TTL_MS: {
    name: 'THROTTLE_TTL_MS',
    purpose: `window of THROTTLE_LIMIT, in ms (default ${DEFAULT_THROTTLE.ttlMs})`,
    example: String(DEFAULT_THROTTLE.ttlMs),
  },
} satisfies Record<string, VariableSpec>;

function problem(spec: VariableSpec, what: string): string {
  return `${spec.name} ${what}. It is the ${spec.purpose}. Example: ${spec.name}=${spec.example}`;
}

function secretProblem(spec: VariableSpec, what: string): string {
  return (
    `${spec.name} ${what}. It is the ${spec.purpose}. Generate one with: ${GENERATE_SECRET_COMMAND} ` +
    `(Example: ${spec.name}=${spec.example})`
  );
}

/**
 * Reads one secret. The development default serves only the embedded PostgreSQL outside
 * production; anything else needs a real secret. `optional`: unset is fine (another variable
 * configures the same thing), and then the value is `''`.
 */
function secret(
  spec: VariableSpec,
  raw: string | undefined,
  developmentDefault: string,
  context: { developmentAllowed: boolean; production: boolean; optional?: boolean },
  problems: string[],
): { value: string; isDevelopmentDefault: boolean } {
  const needsRealSecret = context.production
    ? 'production needs a real secret'
    : 'a database of your own (DATABASE_URL) needs a real secret';
  const publicDefault = 'the public development default only serves the embedded PostgreSQL';
  if (raw === undefined || raw === '') {
    if (context.developmentAllowed)
      return { value: developmentDefault, isDevelopmentDefault: true };
    if (!context.optional) {
      problems.push(secretProblem(spec, `is not set; ${needsRealSecret} (${publicDefault})`));
    }
  } else if (raw === developmentDefault) {
    if (context.developmentAllowed) return { value: raw, isDevelopmentDefault: true };
    problems.push(
      secretProblem(
        spec,
        `is the public development default; ${needsRealSecret} (${publicDefault})`,
      ),
    );
  } else if (raw.length < MIN_SECRET_LENGTH) {
    problems.push(
      secretProblem(
        spec,
        `is ${raw.length} characters long; it needs at least ${MIN_SECRET_LENGTH}`,
      ),
    );
  } else if (isPlaceholder(raw)) {
    problems.push(secretProblem(spec, 'is a placeholder value, not a secret'));
  } else {
    return { value: raw, isDevelopmentDefault: false };
  }
  return { value: '', isDevelopmentDefault: false };
}

function nonNegativeInteger(
  spec: VariableSpec,
  raw: string | undefined,
  fallback: number,
  min: number,
  problems: string[],
): number {
  const value = raw?.trim();
  if (!value) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    problems.push(problem(spec, `is "${value}", not a whole number of at least ${min}`));
    return fallback;
  }
  return Number(value);
}

function throttleFrom(env: NodeJS.ProcessEnv, problems: string[]): Environment['throttle'] {
  const limit = nonNegativeInteger(
    VARIABLES.THROTTLE_LIMIT,
    env.THROTTLE_LIMIT,
    DEFAULT_THROTTLE.limit,
    0,
    problems,
  );
  const ttlMs = nonNegativeInteger(
    VARIABLES.THROTTLE_TTL_MS,
    env.THROTTLE_TTL_MS,
    DEFAULT_THROTTLE.ttlMs,
    1,
    problems,
  );
  // The test suites fire thousands of requests from one address: no limit there unless asked for.
  const testWithoutLimit = env.NODE_ENV?.trim() === 'test' && !env.THROTTLE_LIMIT?.trim();
  return limit === 0 || testWithoutLimit ? false : { limit, ttlMs };
}

/**
 * The demo app's rate limit from `THROTTLE_LIMIT` / `THROTTLE_TTL_MS`: {@link DEFAULT_THROTTLE}
 * when unset, `false` (off) for `THROTTLE_LIMIT=0`, and off under `NODE_ENV=test` unless
 * `THROTTLE_LIMIT` is set.
 *
 * @throws InvalidEnvironmentError when a value is not a whole number.
 */
export function readThrottle(env: NodeJS.ProcessEnv = process.env): ThrottleOptions | false {
  const problems: string[] = [];
  const throttle = throttleFrom(env, problems);
  if (problems.length > 0) throw new InvalidEnvironmentError(problems);
  return throttle;
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
 * Secrets fail closed: `JWT_SECRET` and `TENANT_SETTING_SECRET` fall back to their public
 * development defaults only for the embedded PostgreSQL (no `DATABASE_URL`) outside production.
 * With a database of your own or in production each must be set to a real secret (at least 32
 * characters, not a placeholder such as `.env.example`'s or the development default itself);
 * `JWT_PUBLIC_KEY` alone also satisfies the JWT side. A placeholder or a short secret is refused
 * everywhere.
 *
 * @param options.secrets `false` for tools that neither verify tokens nor set tenants (the Prisma
 *   CLI config, migrations): the secrets are then not read at all (`''`, flags `false`), so a
 *   migration job needs no secret. Default: `true`.
 * @throws InvalidEnvironmentError when a variable is missing, malformed or a stand-in secret.
 */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  options: { secrets?: boolean } = {},
): Environment {
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

  // The public development secrets serve the embedded PostgreSQL only: no DATABASE_URL (or the
  // embedded server's own URLs, which the app's tools hand to the processes they start), never in
  // production.
  const developmentAllowed =
    !production &&
    [databaseUrl, directUrl].every((url) => url === undefined || isEmbeddedUrl(url, env));
  const unread = { value: '', isDevelopmentDefault: false };
  const readSecrets = options.secrets !== false;
  const jwt = readSecrets
    ? secret(
        VARIABLES.JWT_SECRET,
        env.JWT_SECRET,
        DEVELOPMENT_JWT_SECRET,
        // A public key alone is a complete JWT configuration (RS256 only).
        { developmentAllowed, production, optional: Boolean(env.JWT_PUBLIC_KEY?.trim()) },
        problems,
      )
    : unread;
  const tenantSetting = readSecrets
    ? secret(
        VARIABLES.TENANT_SETTING_SECRET,
        env.TENANT_SETTING_SECRET,
        DEVELOPMENT_TENANT_SETTING_SECRET,
        { developmentAllowed, production },
        problems,
      )
    : unread;

  const throttle = throttleFrom({ ...env, NODE_ENV: nodeEnv }, problems);

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
    jwtSecret: jwt.value,
    jwtSecretIsDevelopmentDefault: jwt.isDevelopmentDefault,
    jwtPublicKey,
    jwtIssuer: env.JWT_ISSUER?.trim() || undefined,
    jwtAudience: env.JWT_AUDIENCE?.trim() || undefined,
    tenantSettingSecret: tenantSetting.value,
    tenantSettingSecretIsDevelopmentDefault: tenantSetting.isDevelopmentDefault,
    throttle,
    port,
  };
}
