/**
 * A throw-away Citus cluster on this machine: one coordinator and two workers, each a PostgreSQL 15
 * server run as the `postgres` user on a free loopback port, with a data directory created here
 * and removed by `stop()`.
 *
 * Citus is not in Debian's archive: `../shared/citus/install.sh` (next to the repository, override
 * with CITUS_DIR) installs the prebuilt Citus 13.2.2 when `citus.so` is missing. Needs root (to
 * install, and to run the servers as `postgres`). For users, the `citusdata/citus` image does all
 * of this.
 */
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PROJECT_ROOT } from '../../src/database/project-root';

const run = promisify(execFile);

const PG_MAJOR = 15;
const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
const CITUS_SO = `/usr/lib/postgresql/${PG_MAJOR}/lib/citus.so`;
const CITUS_CONTROL = `/usr/share/postgresql/${PG_MAJOR}/extension/citus.control`;

/** One server of the cluster. */
export interface CitusNode {
  role: 'coordinator' | 'worker';
  port: number;
  dataDir: string;
}

/** A running cluster: where to connect, and how to make it disappear. */
export interface CitusCluster {
  coordinator: CitusNode;
  workers: CitusNode[];
  /** The database created (with the extension) on every node. */
  database: string;
  /** A superuser URL on the coordinator, for `database` (or another one). */
  urlFor(database?: string, user?: string, password?: string, port?: number): string;
  /** Stops every server and removes the data directories. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The folder that carries Citus for this machine: CITUS_DIR, else the first `shared/citus` with an
 * `install.sh` beside the repository or beside one of its parent folders (a clone elsewhere, e.g.
 * a CI checkout in a temporary folder, still finds the machine's copy when it sits higher up).
 */
export function citusDir(): string {
  if (process.env.CITUS_DIR) return process.env.CITUS_DIR;
  const beside = resolve(PROJECT_ROOT, '..', 'shared', 'citus');
  for (let dir = resolve(PROJECT_ROOT, '..'); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'citus');
    if (existsSync(join(candidate, 'install.sh'))) return candidate;
    if (dirname(dir) === dir) return beside;
  }
}

/** Installs Citus into the machine's PostgreSQL 15 when it is missing. */
export function ensureCitusInstalled(): void {
  if (existsSync(CITUS_SO) && existsSync(CITUS_CONTROL)) return;
  const script = join(citusDir(), 'install.sh');
  if (!existsSync(script)) {
    throw new Error(
      `Citus is not installed (${CITUS_SO} missing) and ${script} does not exist. ` +
        `Set CITUS_DIR to the folder that holds install.sh, or install Citus 13 for PostgreSQL ${PG_MAJOR}.`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Citus is not installed: run ${script} as root, then npm run test:citus again.`,
    );
  }
  const result = spawnSync('bash', [script], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${script} failed (exit ${result.status ?? 'signal'})`);
}

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Runs a PostgreSQL binary as the `postgres` user (root cannot run the server). */
async function asPostgres(binary: string, args: string[]): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args]]
    : [join(PG_BIN, binary), args];
  const { stdout } = await run(command, commandArgs, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Starts a coordinator and `workerCount` workers, creates `database` with the citus extension on
 * each, and registers the workers with the coordinator.
 */
export async function startCitusCluster(
  options: { database?: string; workerCount?: number; log?: (line: string) => void } = {},
): Promise<CitusCluster> {
  const database = options.database ?? 'tenancy_citus';
  const log = options.log ?? (() => undefined);
  ensureCitusInstalled();

  const root = mkdtempSync(join(tmpdir(), 'citus-cluster-'));
  if (process.getuid?.() === 0) chownSync(root, uidOf('postgres'), gidOf('postgres'));
  const nodes: CitusNode[] = [];
  const started: CitusNode[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const node of started.reverse()) {
      await asPostgres('pg_ctl', ['stop', '-D', node.dataDir, '-m', 'immediate', '-w']).catch(
        (error: Error) => log(`pg_ctl stop ${node.role}:${node.port}: ${error.message}`),
      );
    }
    rmSync(root, { recursive: true, force: true });
  };
  const urlFor = (db = database, user = 'postgres', password?: string, port?: number) => {
    const url = new URL(`postgresql://127.0.0.1:${port ?? nodes[0].port}/${db}`);
    url.username = encodeURIComponent(user);
    if (password !== undefined) url.password = encodeURIComponent(password);
    return url.toString();
  };

  try {
    const count = options.workerCount ?? 2;
    for (let i = 0; i <= count; i++) {
      const dataDir = join(root, i === 0 ? 'coordinator' : `worker${i}`);
      nodes.push({ role: i === 0 ? 'coordinator' : 'worker', port: await freePort(), dataDir });
    }
    await Promise.all(
      nodes.map(async (node) => {
        await asPostgres('initdb', [
          '-D',
          node.dataDir,
          '-U',
          'postgres',
          '--auth=trust',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ]);
        appendFileSync(
          join(node.dataDir, 'postgresql.conf'),
          [
            '',
            "shared_preload_libraries = 'citus'",
            "listen_addresses = '127.0.0.1'",
            `port = ${node.port}`,
            `unix_socket_directories = '${node.dataDir}'`,
            'max_connections = 200',
            // Throw-away test cluster: durability is not wanted, speed is.
            'fsync = off',
            'synchronous_commit = off',
            'full_page_writes = off',
            'shared_buffers = 64MB',
            // Non-blocking shard moves and tenant isolation use logical replication.
            'wal_level = logical',
            'citus.log_remote_commands = off',
            '',
          ].join('\n'),
        );
      }),
    );
    for (const node of nodes) {
      await asPostgres('pg_ctl', [
        'start',
        '-D',
        node.dataDir,
        '-w',
        '-t',
        '60',
        '-l',
        join(node.dataDir, 'server.log'),
      ]);
      started.push(node);
    }
    log(`Citus nodes up on ports ${nodes.map((n) => n.port).join(', ')}`);
    for (const node of nodes) {
      await withClient(urlFor('postgres', 'postgres', undefined, node.port), (c) =>
        c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`),
      );
      await withClient(urlFor(database, 'postgres', undefined, node.port), (c) =>
        c.query('CREATE EXTENSION citus'),
      );
    }
    await withClient(urlFor(database), async (c) => {
      await c.query(`SELECT citus_set_coordinator_host('127.0.0.1', $1)`, [nodes[0].port]);
      for (const worker of nodes.slice(1)) {
        await c.query(`SELECT citus_add_node('127.0.0.1', $1)`, [worker.port]);
      }
    });
    log(
      `Citus cluster ready: coordinator ${nodes[0].port}, workers ${nodes
        .slice(1)
        .map((n) => n.port)
        .join(', ')}`,
    );
    return { coordinator: nodes[0], workers: nodes.slice(1), database, urlFor, stop };
  } catch (error) {
    for (const node of started) {
      try {
        log(`--- ${node.role}:${node.port} server.log (tail)`);
        const tail = spawnSync('tail', ['-n', '20', join(node.dataDir, 'server.log')]);
        log(tail.stdout.toString());
      } catch {
        // best effort
      }
    }
    await stop();
    throw error;
  }
}

function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user]).stdout.toString().trim());
}

function gidOf(user: string): number {
  return Number(spawnSync('id', ['-g', user]).stdout.toString().trim());
}
