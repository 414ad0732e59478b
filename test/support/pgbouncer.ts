import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

/** A login the pooler accepts and forwards to PostgreSQL with the same name and password. */
export interface PgBouncerUser {
  user: string;
  /**
   * The user's PostgreSQL password. Empty means "no password" (a `trust` server): clients then log
   * in to the pooler without one, and the pooler logs in to the server without one.
   */
  password: string;
}

/** How to start a throw-away PgBouncer in front of a PostgreSQL server. */
export interface PgBouncerOptions {
  /**
   * The server to pool, as a postgres URL: host, port, database and a user (with its password, if
   * the server asks for one). That user is always one of the pooler's users.
   */
  targetUrl: string;
  /** More users the pooler accepts (for example `app_runtime`). Default: none. */
  users?: PgBouncerUser[];
  /** `transaction` (Supabase's pooler, the default) or `session`. */
  poolMode?: 'transaction' | 'session';
  /** Server connections per (database, user) pair: `default_pool_size`. Default: 5. */
  poolSize?: number;
  /** Port on 127.0.0.1. Default: a free port chosen by the operating system. */
  port?: number;
  /** How long to wait for the pooler to accept logins. Default: 10 000 ms. */
  startTimeoutMs?: number;
}

/** A running PgBouncer started by {@link startPgBouncer}. Call `stop()` (in `afterAll`). */
export interface PgBouncerHandle {
  /** The port the pooler listens on, on 127.0.0.1. */
  readonly port: number;
  /**
   * A plain postgres URL that reaches `database` (default: the database of `targetUrl`) through the
   * pooler as `user`. Any database of the target server can be reached.
   */
  urlFor(user: string, password: string, database?: string): string;
  /** The last lines PgBouncer logged, for failure messages. */
  logTail(): string;
  /** Stops the pooler (its server connections close), waits for it to exit, removes its folder. */
  stop(): Promise<void>;
}

/** Base class of the errors of this test harness. */
export class PgBouncerError extends Error {
  override name = this.constructor.name;
}

/** Thrown when the `pgbouncer` executable is not installed. */
export class PgBouncerUnavailableError extends PgBouncerError {
  constructor(reason: string) {
    super(
      `PgBouncer is not available (${reason}). The pooling tests start a real PgBouncer in front ` +
        `of the test database. Install it (Debian/Ubuntu): ` +
        `"sudo apt-get update && sudo apt-get install -y pgbouncer", then run the tests again. ` +
        `The tests need the executable only; the pgbouncer system service is not used.`,
    );
  }
}

/** Thrown when PgBouncer exits or does not accept logins in time; includes the end of its log. */
export class PgBouncerStartError extends PgBouncerError {
  constructor(what: string, logTail: string) {
    super(
      `PgBouncer did not start: ${what}. Check that the target server in targetUrl answers and ` +
        `that every user's password is right (the pooler logs in to the server with it).\n` +
        `--- PgBouncer log (last lines) ---\n${logTail || '(empty)'}`,
    );
  }
}

/** Thrown when an option cannot be written into pgbouncer.ini safely. */
export class PgBouncerConfigError extends PgBouncerError {}

const LISTEN_HOST = '127.0.0.1';
const LOG_LINES_KEPT = 40;
const STOP_GRACE_MS = 5000;
/** Names written unquoted into pgbouncer.ini and its HBA file. */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_$.-]*$/;

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

function parseTarget(targetUrl: string): Target {
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    throw new PgBouncerConfigError(
      'startPgBouncer: targetUrl is not a URL. Pass a postgres URL such as ' +
        'postgresql://postgres:postgres@127.0.0.1:5432/tenancy_test.',
    );
  }
  const target = {
    host: (url.hostname || LISTEN_HOST).replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 5432),
    database: decodeURIComponent(url.pathname.slice(1)),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  if (!target.database || !target.user) {
    throw new PgBouncerConfigError(
      'startPgBouncer: targetUrl must name a user and a database ' +
        '(postgresql://USER:PASSWORD@HOST:PORT/DATABASE).',
    );
  }
  return target;
}

function assertSafeName(kind: string, value: string): void {
  if (!SAFE_NAME.test(value)) {
    throw new PgBouncerConfigError(
      `startPgBouncer: ${kind} "${value}" contains characters this harness does not quote for ` +
        `pgbouncer.ini. Use a name made of letters, digits, "_", "$", "." and "-".`,
    );
  }
}

/** The users the pooler accepts: the target URL's user first, then the others, each once. */
function collectUsers(target: Target, extra: PgBouncerUser[]): PgBouncerUser[] {
  const byName = new Map<string, PgBouncerUser>();
  for (const entry of [{ user: target.user, password: target.password }, ...extra]) {
    assertSafeName('user name', entry.user);
    const known = byName.get(entry.user);
    if (known && known.password !== entry.password) {
      throw new PgBouncerConfigError(
        `startPgBouncer: user "${entry.user}" is given twice with different passwords. ` +
          'List each user once, with the password PostgreSQL expects.',
      );
    }
    byName.set(entry.user, entry);
  }
  return [...byName.values()];
}

/** `"name" "password"` lines; PgBouncer escapes a double quote by doubling it. */
function authFile(users: PgBouncerUser[]): string {
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  return users.map(({ user, password }) => `${quote(user)} ${quote(password)}\n`).join('');
}

/**
 * Per-user client authentication. PgBouncer refuses empty passwords under every password method,
 * so a user without one (a `trust` server) is trusted on loopback; a user with one must send it
 * with SCRAM. Either way the pooler logs in to the server with the auth_file password, which
 * works for `trust`, `md5`, `password` and `scram-sha-256` servers alike.
 */
function hbaFile(users: PgBouncerUser[]): string {
  return users
    .map(
      ({ user, password }) =>
        `host all ${user} ${LISTEN_HOST}/32 ${password ? 'scram-sha-256' : 'trust'}\n`,
    )
    .join('');
}

function iniFile(settings: {
  dir: string;
  target: Target;
  port: number;
  poolMode: 'transaction' | 'session';
  poolSize: number;
  version: [number, number];
}): string {
  const { dir, target, port, poolMode, poolSize, version } = settings;
  const server = `host=${target.host} port=${target.port}`;
  const lines = [
    '[databases]',
    `${target.database} = ${server} dbname=${target.database}`,
    // Fallback: any other database of the same server, under the client's database name.
    `* = ${server}`,
    '',
    '[pgbouncer]',
    `listen_addr = ${LISTEN_HOST}`,
    `listen_port = ${port}`,
    // No Unix socket: the default folder (/var/run/postgresql) is shared with the system's servers.
    'unix_socket_dir =',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    'auth_type = hba',
    `auth_hba_file = ${join(dir, 'hba.conf')}`,
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `pool_mode = ${poolMode}`,
    `default_pool_size = ${poolSize}`,
    // Exactly `poolSize` server connections per (database, user): tests can rely on reuse.
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 100',
    // Transaction mode must not reset the session between clients (it would hide leaks); session
    // mode keeps PgBouncer's default DISCARD ALL.
    ...(poolMode === 'transaction' ? ['server_reset_query ='] : []),
    // node-postgres and Prisma send these start-up parameters; PgBouncer rejects unknown ones.
    'ignore_startup_parameters = extra_float_digits,options',
    // Fail fast instead of PgBouncer's defaults (15 s between login retries, 120 s queue wait),
    // which are longer than a test's timeout.
    'server_login_retry = 1',
    'query_wait_timeout = 15',
  ];
  // Protocol-level prepared statements in transaction mode exist since 1.21; 1.18 (Debian 12)
  // refuses the unknown setting, and never keeps prepared statements across transactions anyway.
  const [major, minor] = version;
  if (major > 1 || (major === 1 && minor >= 21)) lines.push('max_prepared_statements = 0');
  return `${lines.join('\n')}\n`;
}

/** Where Debian installs PgBouncer: `/usr/sbin`, which is not on a normal user's PATH. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/**
 * The `pgbouncer` executable (PATH first, then the sbin folders) and its version.
 *
 * @throws PgBouncerUnavailableError when it is not installed.
 */
async function findPgBouncer(): Promise<{ binary: string; version: [number, number] }> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  let binary: string | undefined;
  for (const dir of dirs) {
    const candidate = join(dir, 'pgbouncer');
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    ) {
      binary = candidate;
      break;
    }
  }
  if (!binary) {
    throw new PgBouncerUnavailableError(
      `no "pgbouncer" executable on PATH or in ${SBIN_DIRS.join(', ')}`,
    );
  }
  const found = binary;
  return new Promise((resolve, reject) => {
    const child = spawn(found, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) =>
      reject(new PgBouncerUnavailableError(`"${found} --version" failed: ${error.message}`)),
    );
    child.on('close', (code) => {
      const match = /PgBouncer (\d+)\.(\d+)/.exec(output);
      if (code === 0 && match)
        resolve({ binary: found, version: [Number(match[1]), Number(match[2])] });
      else reject(new PgBouncerUnavailableError(`"${found} --version" said: ${output.trim()}`));
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LISTEN_HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The OS account PgBouncer runs as. PgBouncer refuses to run as root, so as root it runs as the
 * `postgres` account (created by Debian's PostgreSQL and PgBouncer packages); otherwise as the
 * current user.
 */
async function runAsAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) {
    throw new PgBouncerUnavailableError(
      'running as root, and there is no "postgres" OS account to run it as; PgBouncer refuses ' +
        'to run as root',
    );
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const RETRYABLE = /ECONNREFUSED|ECONNRESET|Connection terminated|server login has been failing/i;

/** Polls until a login through the pooler runs `SELECT 1`, the child exits, or time runs out. */
async function waitUntilReady(
  child: ChildProcess,
  url: string,
  timeoutMs: number,
  logTail: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt made';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new PgBouncerStartError(
        `it exited (code ${child.exitCode}, signal ${child.signalCode})`,
        logTail(),
      );
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown }).code;
      if (!RETRYABLE.test(`${String(code)} ${lastError}`)) {
        throw new PgBouncerStartError(`a test login through it failed: ${lastError}`, logTail());
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new PgBouncerStartError(
    `no login succeeded within ${timeoutMs} ms (last error: ${lastError})`,
    logTail(),
  );
}

/**
 * Starts a private PgBouncer on 127.0.0.1 in front of the server of `targetUrl`, as a child
 * process (not a daemon) whose config, log and pid file live in a fresh temporary folder. Resolves
 * once a login through it works. The caller must `await handle.stop()` (in `afterAll`).
 *
 * @throws PgBouncerUnavailableError when the `pgbouncer` executable is missing.
 * @throws PgBouncerStartError when it exits or does not accept a login in time.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncerHandle> {
  const target = parseTarget(options.targetUrl);
  assertSafeName('database name', target.database);
  if (!/^[A-Za-z0-9.:_-]+$/.test(target.host)) {
    throw new PgBouncerConfigError(
      `startPgBouncer: host "${target.host}" of targetUrl is not a host name or IP address.`,
    );
  }
  const users = collectUsers(target, options.users ?? []);
  const poolMode = options.poolMode ?? 'transaction';
  const poolSize = options.poolSize ?? 5;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new PgBouncerConfigError(`startPgBouncer: poolSize must be a positive integer.`);
  }

  const { binary, version } = await findPgBouncer();
  const account = await runAsAccount();
  const port = options.port ?? (await freePort());

  const dir = await mkdtemp(join(tmpdir(), 'pgbouncer-'));
  const files: Record<string, string> = {
    'pgbouncer.ini': iniFile({ dir, target, port, poolMode, poolSize, version }),
    'userlist.txt': authFile(users),
    'hba.conf': hbaFile(users),
  };
  try {
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), content, { mode: 0o600 });
      if (account) await chown(join(dir, name), account.uid, account.gid);
    }
    await chmod(dir, 0o700);
    if (account) await chown(dir, account.uid, account.gid);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const log: string[] = [];
  const child = spawn(binary, [join(dir, 'pgbouncer.ini')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(account ?? {}),
  });
  // PgBouncer logs to stderr as well as to its log file; keep the end in memory for messages.
  child.stderr?.on('data', (chunk: Buffer) => {
    log.push(...chunk.toString().split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - LOG_LINES_KEPT));
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new PgBouncerStartError(error.message, ''))),
  );
  spawnError.catch(() => undefined);
  const logTail = () => log.join('\n');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGTERM: immediate shutdown, closing client and server connections.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (!(await waitForExit(child, STOP_GRACE_MS))) {
        child.kill('SIGKILL');
        await waitForExit(child, STOP_GRACE_MS);
      }
      child.stderr?.destroy();
      await rm(dir, { recursive: true, force: true });
    })());

  const urlFor = (user: string, password: string, database = target.database) => {
    const credentials = password
      ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
      : encodeURIComponent(user);
    return `postgresql://${credentials}@${LISTEN_HOST}:${port}/${encodeURIComponent(database)}`;
  };

  try {
    await Promise.race([
      waitUntilReady(
        child,
        urlFor(target.user, target.password),
        options.startTimeoutMs ?? 10_000,
        logTail,
      ),
      spawnError,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }

  return { port, urlFor, logTail, stop };
}

/** The user and password of the URL in `DIRECT_URL` / `DATABASE_URL` (set by Jest's global setup). */
export function credentialsOf(variable: 'DIRECT_URL' | 'DATABASE_URL'): PgBouncerUser {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} is not set: run this spec through Jest's global setup.`);
  const url = new URL(value);
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}
