/**
 * Prints a bearer token for the API, signed HS256 with JWT_SECRET (or the development secret).
 *
 *   tsx scripts/token.ts --sub <user uuid> [--workspace <workspace uuid>] [--expires 1h]
 */
import { parseArgs } from 'node:util';
import { sign, type SignOptions } from 'jsonwebtoken';
import { loadDotEnv, readEnvironment, type Environment } from '../src/config/environment';
import { InvalidEnvironmentError } from '../src/config/invalid-environment.error';
import { PROJECT_ROOT } from '../src/database/project-root';

/** What a token asserts: the user and, optionally, the workspace it acts in. */
export interface AccessTokenClaims {
  /** The user's id (`users.id`). */
  sub: string;
  /** The workspace the token acts in (`workspaces.id`). */
  workspaceId?: string;
  /** Lifetime, as jsonwebtoken's `expiresIn`: seconds, or `90s`, `15m`, `12h`, `7d`. */
  expiresIn: NonNullable<SignOptions['expiresIn']>;
}

/**
 * Signs an HS256 access token with the environment's JWT secret, adding the issuer and audience
 * when JWT_ISSUER / JWT_AUDIENCE are configured (the API then requires them).
 */
export function signAccessToken(
  env: Pick<Environment, 'jwtSecret' | 'jwtIssuer' | 'jwtAudience'>,
  claims: AccessTokenClaims,
): string {
  const payload = claims.workspaceId ? { workspaceId: claims.workspaceId } : {};
  return sign(payload, env.jwtSecret, {
    algorithm: 'HS256',
    subject: claims.sub,
    expiresIn: claims.expiresIn,
    ...(env.jwtIssuer ? { issuer: env.jwtIssuer } : {}),
    ...(env.jwtAudience ? { audience: env.jwtAudience } : {}),
  });
}

/** Thrown for a missing or malformed command-line argument. */
class TokenArgumentError extends Error {
  override name = 'TokenArgumentError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^\d+(s|m|h|d)$/;
const USAGE =
  'Usage: tsx scripts/token.ts --sub <user uuid> [--workspace <workspace uuid>] [--expires 1h]\n' +
  '(npm run db:seed prints the demo users and workspaces with their ids)';

function uuidArgument(flag: string, value: string): string {
  if (!UUID.test(value)) {
    throw new TokenArgumentError(
      `${flag} must be a UUID such as 0b7c3f9e-5d1a-4c2b-9e8f-1a2b3c4d5e6f, got "${value}".\n${USAGE}`,
    );
  }
  return value.toLowerCase();
}

function parseClaims(argv: string[]): AccessTokenClaims {
  let values: { sub?: string; workspace?: string; expires?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        sub: { type: 'string' },
        workspace: { type: 'string' },
        expires: { type: 'string', default: '1h' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new TokenArgumentError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.sub === undefined) throw new TokenArgumentError(`--sub is required.\n${USAGE}`);
  const expiresIn = values.expires ?? '1h';
  if (!DURATION.test(expiresIn)) {
    throw new TokenArgumentError(
      `--expires must be a whole number followed by s, m, h or d (e.g. 30m, 12h, 7d), got "${expiresIn}".`,
    );
  }
  return {
    sub: uuidArgument('--sub', values.sub),
    workspaceId:
      values.workspace === undefined ? undefined : uuidArgument('--workspace', values.workspace),
    // Checked by DURATION above; jsonwebtoken types it as a template-literal union.
    expiresIn: expiresIn as AccessTokenClaims['expiresIn'],
  };
}

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  try {
    const claims = parseClaims(argv);
    loadDotEnv(PROJECT_ROOT);
    const env = readEnvironment();
    if (env.jwtSecretIsDevelopmentDefault) {
      console.error('Note: JWT_SECRET is unset; signed with the development secret.');
    }
    console.log(signAccessToken(env, claims));
    return 0;
  } catch (error) {
    if (error instanceof TokenArgumentError || error instanceof InvalidEnvironmentError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
