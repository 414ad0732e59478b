import type { INestApplication } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import type { Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import { TEST_DATABASE } from '../setup/test-database';
import { startPgBouncer, type PgBouncerHandle, credentialsOf } from '../support/pgbouncer';
import { adminPrisma, createTestApp, signToken, type TestTenant } from '../support/test-app';
import { randomUUID } from 'node:crypto';

/**
 * Tenant isolation under concurrent HTTP load, through the whole stack (guard, tenant client,
 * tenant-aware pool, Row-Level Security): many workspaces read and write at once over real
 * sockets, and no response may carry another workspace's data, no request may fail with a 5xx,
 * and the database must end up holding exactly what each workspace created.
 *
 * The same run is repeated with the app behind PgBouncer in transaction mode (three server
 * connections), where consecutive transactions of different workspaces share server connections.
 */

/** Workspaces taking part in one run. */
const WORKSPACES = 50;
/** Items each workspace creates before the load starts. */
const INITIAL_ITEMS = 3;
/** Requests of the mixed load (after set-up). */
const REQUESTS = 2000;
/** Requests in flight at any time. */
const CONCURRENCY = 50;
/** Client-side limit for one request: a hang fails the run instead of blocking it. */
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * Per run (set-up, load and checks). A run takes 10-60 s here (2 CPUs shared with other test
 * runs); the limit only keeps a stuck run from blocking the suite.
 */
const RUN_TIMEOUT_MS = 240_000;
/** Marks PATCHes aimed at another workspace's item; no row may ever carry it. */
const FOREIGN_MARK = 'FOREIGN-WRITE';

const NOT_FOUND = { statusCode: 404, message: 'Not found', error: 'Not Found' };

interface Workspace extends TestTenant {
  /** Ids of the items this workspace created (set-up and load). */
  items: string[];
}

interface ItemBody {
  id: string;
  workspaceId: string;
  createdById: string | null;
  title: string;
}

interface Reply {
  status: number;
  text: string;
  body: unknown;
}

type Operation = 'list' | 'get-own' | 'get-foreign' | 'create' | 'patch-own' | 'patch-foreign';

/** The mix of the load, as weights. */
const MIX: Array<[Operation, number]> = [
  ['list', 30],
  ['get-own', 20],
  ['get-foreign', 15],
  ['create', 15],
  ['patch-own', 12],
  ['patch-foreign', 8],
];

/** A small deterministic PRNG (mulberry32): the same seed gives the same load. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function call(
  base: string,
  method: string,
  path: string,
  auth: string,
  body?: unknown,
): Promise<Reply> {
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: auth,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, text, body: parsed };
  } catch (error) {
    return { status: 0, text: '', body: `no response: ${(error as Error).message}` };
  }
}

/** Runs `tasks` with at most `limit` of them in flight. */
async function runPool(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** What one load run saw; each list is empty when isolation held. */
interface LoadReport {
  requests: number;
  byOperation: Record<string, number>;
  statuses: Record<string, number>;
  /** Responses that were not what the operation must answer (wrong status or shape). */
  unexpected: string[];
  /** Responses that contained an identifier (workspace or user) of another workspace. */
  leaks: string[];
  elapsedMs: number;
  /** The most requests that were in flight at once. */
  peakInFlight: number;
}

/**
 * Creates the workspaces and their first items, runs the mixed load and returns what it saw.
 * Every check is recorded (not thrown) so that one run reports every problem at once.
 */
async function runIsolationLoad(
  base: string,
  label: string,
  seed: number,
): Promise<{
  workspaces: Workspace[];
  report: LoadReport;
}> {
  const workspaces: Workspace[] = [];
  const unexpected: string[] = [];
  const leaks: string[] = [];

  // Set-up, concurrently too: workspaces, then their first items.
  await runPool(WORKSPACES, CONCURRENCY, async (i) => {
    const userId = randomUUID();
    const reply = await call(base, 'POST', '/workspaces', `Bearer ${signToken({ sub: userId })}`, {
      name: `${label} load ${i}`,
    });
    if (reply.status !== 201)
      throw new Error(`POST /workspaces answered ${reply.status}: ${reply.text}`);
    const workspaceId = (reply.body as { id: string }).id;
    workspaces.push({
      userId,
      workspaceId,
      auth: `Bearer ${signToken({ sub: userId, workspaceId })}`,
      items: [],
    });
  });
  await runPool(WORKSPACES * INITIAL_ITEMS, CONCURRENCY, async (i) => {
    const workspace = workspaces[i % WORKSPACES];
    const reply = await call(base, 'POST', '/approval-items', workspace.auth, {
      title: `${label} first ${i}`,
    });
    const item = reply.body as ItemBody;
    if (reply.status !== 201 || item.workspaceId !== workspace.workspaceId) {
      throw new Error(`set-up POST /approval-items answered ${reply.status}: ${reply.text}`);
    }
    workspace.items.push(item.id);
  });

  // Identifiers that must never appear in a response to another workspace.
  const owner = new Map<string, Workspace>();
  for (const workspace of workspaces) {
    owner.set(workspace.workspaceId, workspace);
    owner.set(workspace.userId, workspace);
    for (const id of workspace.items) owner.set(id, workspace);
  }
  const foreignIdentifiers = (caller: Workspace, text: string): string[] => {
    const found: string[] = [];
    for (const match of text.matchAll(
      /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
    )) {
      const holder = owner.get(match[0]);
      if (holder && holder !== caller) found.push(match[0]);
    }
    return found;
  };

  const random = prng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const totalWeight = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  const chooseOperation = (): Operation => {
    let roll = random() * totalWeight;
    for (const [operation, weight] of MIX) {
      roll -= weight;
      if (roll < 0) return operation;
    }
    return MIX[0][0];
  };

  const byOperation: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const started = Date.now();
  let inFlight = 0;
  let peakInFlight = 0;

  await runPool(REQUESTS, CONCURRENCY, async () => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    const caller = pick(workspaces);
    const operation = chooseOperation();
    const other = pick(workspaces.filter((w) => w !== caller));
    let reply: Reply;
    let ok: boolean;
    switch (operation) {
      case 'list': {
        reply = await call(base, 'GET', '/approval-items?take=100', caller.auth);
        ok =
          reply.status === 200 &&
          Array.isArray(reply.body) &&
          (reply.body as ItemBody[]).every((item) => item.workspaceId === caller.workspaceId);
        break;
      }
      case 'get-own': {
        const id = pick(caller.items);
        reply = await call(base, 'GET', `/approval-items/${id}`, caller.auth);
        const item = reply.body as ItemBody;
        ok = reply.status === 200 && item.id === id && item.workspaceId === caller.workspaceId;
        break;
      }
      case 'get-foreign': {
        reply = await call(base, 'GET', `/approval-items/${pick(other.items)}`, caller.auth);
        ok = reply.status === 404 && isDeepStrictEqual(reply.body, NOT_FOUND);
        break;
      }
      case 'create': {
        reply = await call(base, 'POST', '/approval-items', caller.auth, {
          title: `${label} load item`,
          description: `created by ${caller.workspaceId}`,
        });
        const item = reply.body as ItemBody;
        ok =
          reply.status === 201 &&
          item.workspaceId === caller.workspaceId &&
          item.createdById === caller.userId;
        if (reply.status === 201) {
          caller.items.push(item.id);
          owner.set(item.id, caller);
        }
        break;
      }
      case 'patch-own': {
        const id = pick(caller.items);
        reply = await call(base, 'PATCH', `/approval-items/${id}`, caller.auth, {
          status: pick(['PENDING', 'APPROVED', 'REJECTED']),
        });
        const item = reply.body as ItemBody;
        ok = reply.status === 200 && item.id === id && item.workspaceId === caller.workspaceId;
        break;
      }
      case 'patch-foreign': {
        reply = await call(base, 'PATCH', `/approval-items/${pick(other.items)}`, caller.auth, {
          title: FOREIGN_MARK,
          status: 'REJECTED',
        });
        ok = reply.status === 404 && isDeepStrictEqual(reply.body, NOT_FOUND);
        break;
      }
    }
    inFlight--;
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
    statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
    if (!ok && unexpected.length < 20) {
      unexpected.push(
        `${operation} by ${caller.workspaceId}: ${reply.status} ${reply.text.slice(0, 300)}`,
      );
    }
    const foreign = foreignIdentifiers(caller, reply.text);
    if (foreign.length > 0 && leaks.length < 20) {
      leaks.push(
        `${operation} by ${caller.workspaceId} got ${foreign.join(', ')}: ${reply.text.slice(0, 300)}`,
      );
    }
  });

  return {
    workspaces,
    report: {
      requests: REQUESTS,
      byOperation,
      statuses,
      unexpected,
      leaks,
      elapsedMs: Date.now() - started,
      peakInFlight,
    },
  };
}

/** One line for the test log: volume, rate and statuses. */
function summary(report: LoadReport): string {
  const rate = Math.round((report.requests / report.elapsedMs) * 1000);
  return (
    `${report.requests} requests in ${report.elapsedMs} ms (${rate}/s, ${report.peakInFlight} in flight), ` +
    `operations ${JSON.stringify(report.byOperation)}, statuses ${JSON.stringify(report.statuses)}`
  );
}

/** Asserts the report and the database state behind it. */
async function expectIsolated(
  admin: PrismaClient,
  workspaces: Workspace[],
  report: LoadReport,
): Promise<void> {
  expect(report.leaks).toEqual([]);
  expect(report.unexpected).toEqual([]);
  const serverErrors = Object.entries(report.statuses).filter(
    ([status]) => Number(status) >= 500 || status === '0',
  );
  expect(serverErrors).toEqual([]);
  expect(Object.values(report.statuses).reduce((sum, n) => sum + n, 0)).toBe(REQUESTS);
  for (const [operation] of MIX) expect(report.byOperation[operation]).toBeGreaterThan(0);
  expect(report.peakInFlight).toBe(CONCURRENCY);

  // The database holds exactly what each workspace created, in that workspace, by its user.
  const ids = workspaces.map((w) => w.workspaceId);
  const rows = await admin.approvalItem.findMany({
    where: { workspaceId: { in: ids } },
    select: { id: true, workspaceId: true, createdById: true, title: true, decidedById: true },
  });
  const actual = new Map<string, string[]>();
  for (const row of rows)
    actual.set(row.workspaceId, [...(actual.get(row.workspaceId) ?? []), row.id]);
  for (const workspace of workspaces) {
    expect({
      workspace: workspace.workspaceId,
      items: [...(actual.get(workspace.workspaceId) ?? [])].sort(),
    }).toEqual({
      workspace: workspace.workspaceId,
      items: [...workspace.items].sort(),
    });
  }
  const userOf = new Map(workspaces.map((w) => [w.workspaceId, w.userId]));
  const misattributed = rows.filter(
    (row) =>
      row.createdById !== userOf.get(row.workspaceId) ||
      (row.decidedById !== null && row.decidedById !== userOf.get(row.workspaceId)) ||
      row.title === FOREIGN_MARK,
  );
  expect(misattributed).toEqual([]);
  expect(await admin.approvalItem.count({ where: { title: FOREIGN_MARK } })).toBe(0);
}

describe('tenant isolation under concurrent HTTP load', () => {
  const savedEnv = { ...process.env };
  let admin: PrismaClient;
  const created: string[] = [];

  beforeAll(() => {
    admin = adminPrisma();
  });

  afterAll(async () => {
    try {
      if (created.length > 0) await admin.workspace.deleteMany({ where: { id: { in: created } } });
    } finally {
      await admin.$disconnect();
      process.env = savedEnv;
    }
  });

  describe(`direct: ${REQUESTS} requests, ${WORKSPACES} workspaces, concurrency ${CONCURRENCY}`, () => {
    let app: INestApplication | undefined;

    afterAll(async () => {
      await app?.close();
    });

    it(
      'never answers with another workspace’s data, never 5xx, and writes exactly what was created',
      async () => {
        app = await createTestApp({ DATABASE_URL: savedEnv.DATABASE_URL });
        const base = await listen(app);

        const { workspaces, report } = await runIsolationLoad(base, 'direct', 0x5eed);
        console.info(`direct: ${summary(report)}`);
        created.push(...workspaces.map((w) => w.workspaceId));

        await expectIsolated(admin, workspaces, report);
      },
      RUN_TIMEOUT_MS,
    );
  });

  describe('through PgBouncer in transaction mode (3 server connections)', () => {
    let app: INestApplication | undefined;
    let bouncer: PgBouncerHandle | undefined;

    afterAll(async () => {
      try {
        await app?.close();
      } finally {
        await bouncer?.stop();
      }
    });

    it(
      'never answers with another workspace’s data, never 5xx, and writes exactly what was created',
      async () => {
        const runtime = credentialsOf('DATABASE_URL');
        bouncer = await startPgBouncer({
          targetUrl: savedEnv.DIRECT_URL ?? '',
          users: [runtime],
          poolMode: 'transaction',
          poolSize: 3,
        });
        app = await createTestApp({
          DATABASE_URL: bouncer.urlFor(runtime.user, runtime.password, TEST_DATABASE),
        });
        const base = await listen(app);

        const { workspaces, report } = await runIsolationLoad(base, 'pooled', 0xb0b);
        console.info(`through PgBouncer: ${summary(report)}`);
        created.push(...workspaces.map((w) => w.workspaceId));

        await expectIsolated(admin, workspaces, report);
      },
      RUN_TIMEOUT_MS,
    );
  });
});
