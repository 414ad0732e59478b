import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import type { Environment } from '../config/environment';
import {
  connectionFailureReason,
  DatabaseUnreachableError,
  describeTarget,
  isConnectionFailure,
} from 'nest-prisma-tenancy';
import { startEmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres';
import { MigrationFailedError } from './migration-failed.error';
import { PROJECT_ROOT } from './project-root';

/** The connections the app, the CLI and the tests use. */
export interface DatabaseUrls {
  /** Runtime role (`app_runtime`), pooled in production. */
  databaseUrl: string;
  /** Owner role, direct: migrations. */
  directUrl: string;
  /** `app_admin` role: the logged system client. */
  systemDatabaseUrl: string | undefined;
}

/** Database connections plus a way to release what `prepareDatabase` started. */
export interface PreparedDatabase extends DatabaseUrls {
  /** True when the URLs point at the embedded PostgreSQL this project started or found running. */
  embedded: boolean;
  stop(): Promise<void>;
}

/** Local-only passwords of the runtime roles on the embedded cluster. */
const EMBEDDED_ROLE_PASSWORDS = { app_runtime: 'app_runtime', app_admin: 'app_admin' } as const;

/**
 * Checks that PostgreSQL answers at `url`.
 *
 * @throws DatabaseUnreachableError naming host, port and what to check.
 */
export async function assertReachable(url: string, variable: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const { host, port } = describeTarget(url);
    throw new DatabaseUnreachableError(variable, host, port, connectionFailureReason(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs a SQL script as the given URL's user. */
export async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Replaces the database name (and optionally user and password) of a postgres URL. */
export function withDatabase(
  url: string,
  database: string,
  user?: string,
  password?: string,
): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user !== undefined) parsed.username = encodeURIComponent(user);
  if (password !== undefined) parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** Creates `database` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Drops `database` (closing its connections) and creates it empty, on the server of `adminUrl`. */
export async function recreateDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** True when PostgreSQL answers at `url` (a boolean `assertReachable`). */
export function answers(url: string): Promise<boolean> {
  return assertReachable(url, 'url').then(
    () => true,
    () => false,
  );
}

/** Prisma 7 CLI commands that need no schema engine (prisma.config.ts). */
const PRISMA7_COMMANDS = new Set(['generate', 'studio', 'validate', 'format']);

/**
 * The CLI that runs `args`, by path (both packages install a `prisma` bin): Prisma 7 for the
 * commands that need no schema engine; Prisma 6.19 (`prisma6`, an npm alias of prisma@6.19.3) with
 * prisma6.config.ts for everything that migrates or connects through the schema engine, which it
 * runs as WebAssembly (Prisma 7's is a native binary, downloaded on first use: unreachable offline).
 */
export function prismaCommand(args: readonly string[]): string[] {
  if (PRISMA7_COMMANDS.has(args[0] ?? '')) {
    return [require.resolve('prisma/build/index.js'), ...args];
  }
  return [
    require.resolve('prisma6/build/index.js'),
    ...args,
    '--config',
    resolve(PROJECT_ROOT, 'prisma6.config.ts'),
  ];
}

/** Runs the Prisma CLI (offline: see `prismaCommand`) with the given database URLs. */
export function runPrisma(
  args: string[],
  urls: { databaseUrl: string; directUrl: string },
  stdio: 'pipe' | 'inherit' = 'pipe',
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, prismaCommand(args), {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: urls.databaseUrl,
        DIRECT_URL: urls.directUrl,
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
      stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/**
 * Applies every committed migration (`prisma migrate deploy`) over the direct connection.
 *
 * @throws MigrationFailedError with Prisma's message and the command to inspect the state.
 */
export async function applyMigrations(directUrl: string): Promise<void> {
  const { code, output } = await runPrisma(['migrate', 'deploy'], {
    databaseUrl: directUrl,
    directUrl,
  });
  if (code !== 0) {
    const meaningful = output
      .split('\n')
      .filter(
        (line) =>
          !/Unknown user config|Loaded Prisma config|Prisma schema loaded|Prisma config detected|^Datasource|driver adapter|url.*ignored|^\s*$/i.test(
            line,
          ),
      )
      .join('\n');
    throw new MigrationFailedError(meaningful);
  }
}

/** Gives the runtime roles their local passwords on the embedded cluster (they exist after migrating). */
export async function setEmbeddedRolePasswords(directUrl: string): Promise<void> {
  const statements = Object.entries(EMBEDDED_ROLE_PASSWORDS).map(
    ([role, password]) =>
      `ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(password)};`,
  );
  await runSql(directUrl, statements.join('\n'));
}

/**
 * Resolves the database the app (or a script) should use:
 * - DATABASE_URL / DIRECT_URL set: those, checked for reachability; migrations are not applied
 *   (run `npm run db:deploy`).
 * - not set (never in production): the embedded PostgreSQL, started if needed, with database
 *   `database` created and migrated, and local passwords for `app_runtime` and `app_admin`.
 */
export async function prepareDatabase(
  env: Environment,
  options: { database?: string; migrate?: boolean; embedded?: EmbeddedPostgresOptions } = {},
): Promise<PreparedDatabase> {
  if (env.databaseUrl && env.directUrl) {
    await assertReachable(env.directUrl, 'DIRECT_URL');
    return {
      databaseUrl: env.databaseUrl,
      directUrl: env.directUrl,
      systemDatabaseUrl: env.systemDatabaseUrl,
      embedded: false,
      stop: () => Promise.resolve(),
    };
  }

  const database = options.database ?? 'app';
  const server = await startEmbeddedPostgres(options.embedded);
  try {
    await ensureDatabase(server.urlFor('postgres'), database);
    const directUrl = server.urlFor(database);
    if (options.migrate !== false) {
      await applyMigrations(directUrl);
      await setEmbeddedRolePasswords(directUrl);
    }
    return {
      databaseUrl: server.urlFor(database, 'app_runtime', EMBEDDED_ROLE_PASSWORDS.app_runtime),
      directUrl,
      systemDatabaseUrl: server.urlFor(database, 'app_admin', EMBEDDED_ROLE_PASSWORDS.app_admin),
      embedded: true,
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    if (isConnectionFailure(error)) {
      throw new DatabaseUnreachableError(
        'the embedded PostgreSQL',
        '127.0.0.1',
        server.port,
        connectionFailureReason(error),
      );
    }
    throw error;
  }
}
