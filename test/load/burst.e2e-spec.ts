import type { INestApplication } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import {
  adminPrisma,
  createTenant,
  createTestApp,
  signToken,
  type TestTenant,
} from '../support/test-app';

/**
 * A burst of workspace creations against an app whose pool is far too small for it: the app must
 * shed load, never fail. 1,200 `POST /workspaces` (100 in flight) go to the demo app over real
 * sockets with a two-connection pool. Early in the burst a migration-like statement holds the
 * `workspaces` table for a few seconds (an EXCLUSIVE lock, as the owner role), so the two
 * connections sit in blocked transactions while the other requests queue for them: transactions
 * wait past Prisma's `maxWait` (2 s, P2028 "Unable to start a transaction in the given time") and
 * queries past the pool's wait. Meanwhile a bystander workspace keeps reading `GET /approval-items`.
 *
 * Must hold:
 * - no 500, no hang: every answer is 201, or 409 / 429 / 503 with `Retry-After` and Nest's JSON
 *   error body (`{ message, error, statusCode }`);
 * - nothing lost, nothing phantom: the workspaces in the database are exactly the ones answered
 *   with 201, each with its owner as its only member;
 * - the bystander is served: at least one of its reads answers 200, none answers 500.
 */

/** `POST /workspaces` requests of the burst. */
const REQUESTS = 1200;
/** Requests in flight at any time. */
const CONCURRENCY = 100;
/** The app's pool: two connections; a query waits up to the default 5 s for one. */
const POOL = { max: 2 };
/** Client-side limit for one request: a hang fails the run instead of blocking it. */
const REQUEST_TIMEOUT_MS = 30_000;
/** When the stall starts (after the burst started) and how long it holds the table. */
const STALL_AFTER_MS = 500;
const STALL_MS = 3000;
/** Pause between two reads of the bystander. */
const BYSTANDER_PAUSE_MS = 50;
/** For the whole run (set-up, burst, checks) on a loaded 2-core machine. */
const RUN_TIMEOUT_MS = 240_000;
/** Statuses a request may answer with under load, besides success. */
const SHED = [409, 429, 503];

interface Reply {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  text: string;
  body: unknown;
}

async function call(base: string, method: string, path: string, auth: string, body?: unknown) {
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
      parsed = undefined;
    }
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      contentType: response.headers.get('content-type'),
      text,
      body: parsed,
    } satisfies Reply;
  } catch (error) {
    return {
      status: 0,
      retryAfter: null,
      contentType: null,
      text: `no response: ${(error as Error).message}`,
      body: undefined,
    } satisfies Reply;
  }
}

/** Runs `tasks` with at most `limit` of them in flight. */
async function runPool(count: number, limit: number, task: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Why a shed answer (409, 429, 503) is malformed, or `undefined` when it is well-formed. */
function malformedShed(reply: Reply): string | undefined {
  if (!reply.retryAfter || !/^\d+$/.test(reply.retryAfter)) return 'no Retry-After in seconds';
  if (!reply.contentType?.startsWith('application/json'))
    return `content-type ${reply.contentType}`;
  const body = reply.body as Record<string, unknown> | undefined;
  if (
    !body ||
    Object.keys(body).sort().join() !== 'error,message,statusCode' ||
    body.statusCode !== reply.status ||
    typeof body.message !== 'string' ||
    typeof body.error !== 'string'
  ) {
    return 'not a { message, error, statusCode } body';
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Holds the `workspaces` table (EXCLUSIVE: reads pass, writes and key-share checks wait) for `ms`. */
async function stallWorkspaces(ms: number): Promise<void> {
  const owner = new pg.Client({ connectionString: process.env.DIRECT_URL });
  await owner.connect();
  try {
    await owner.query('BEGIN');
    await owner.query('LOCK TABLE workspaces IN EXCLUSIVE MODE');
    await sleep(ms);
    await owner.query('COMMIT');
  } finally {
    await owner.end();
  }
}
const count = (tally: Record<string, number>, key: string | number) =>
  (tally[key] = (tally[key] ?? 0) + 1);

let app: INestApplication;
let admin: PrismaClient;
let base: string;
let bystander: TestTenant;

beforeAll(async () => {
  app = await createTestApp({}, { pool: POOL });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  admin = adminPrisma();
  bystander = await createTenant(app, 'Bystander');
  const item = await call(base, 'POST', '/approval-items', bystander.auth, { title: 'Keep me' });
  if (item.status !== 201) throw new Error(`set-up POST /approval-items answered ${item.text}`);
});

afterAll(async () => {
  await admin?.$disconnect();
  await app?.close();
});

describe(`a burst of ${REQUESTS} POST /workspaces, ${CONCURRENCY} in flight, on a ${POOL.max}-connection pool`, () => {
  it(
    'sheds load with 409/429/503 + Retry-After + JSON, never 500; creates exactly what it answered 201 for; the bystander is served',
    async () => {
      const label = `burst ${randomUUID().slice(0, 8)}`;
      const statuses: Record<string, number> = {};
      const messages: Record<string, number> = {};
      const unexpected: string[] = [];
      const created = new Map<string, string>(); // workspace id → owner's user id
      const bystanderStatuses: Record<string, number> = {};
      const bystanderUnexpected: string[] = [];
      let bursting = true;

      const bystanderReads = (async () => {
        while (bursting) {
          const reply = await call(base, 'GET', '/approval-items', bystander.auth);
          count(bystanderStatuses, reply.status);
          const ok =
            reply.status === 200 &&
            Array.isArray(reply.body) &&
            (reply.body as Array<{ workspaceId: string }>).every(
              (item) => item.workspaceId === bystander.workspaceId,
            );
          const shed = SHED.includes(reply.status) && malformedShed(reply) === undefined;
          if (!ok && !shed && bystanderUnexpected.length < 10) {
            bystanderUnexpected.push(`${reply.status} ${reply.text.slice(0, 200)}`);
          }
          await sleep(BYSTANDER_PAUSE_MS);
        }
      })();

      const started = Date.now();
      const stall = sleep(STALL_AFTER_MS).then(() => stallWorkspaces(STALL_MS));
      try {
        await runPool(REQUESTS, CONCURRENCY, async (i) => {
          const userId = randomUUID();
          const reply = await call(
            base,
            'POST',
            '/workspaces',
            `Bearer ${signToken({ sub: userId })}`,
            { name: `${label} ${i}` },
          );
          count(statuses, reply.status);
          if (reply.status === 201) {
            const { id, name, role } = reply.body as { id: string; name: string; role: string };
            if (name !== `${label} ${i}` || role !== 'OWNER') {
              unexpected.push(`201 with ${reply.text.slice(0, 200)}`);
            }
            created.set(id, userId);
            return;
          }
          count(messages, `${reply.status} ${(reply.body as { message?: string })?.message}`);
          const problem = SHED.includes(reply.status)
            ? malformedShed(reply)
            : 'not 201, 409, 429 or 503';
          if (problem && unexpected.length < 20) {
            unexpected.push(
              `${reply.status} (${problem}), Retry-After ${reply.retryAfter}: ${reply.text.slice(0, 200)}`,
            );
          }
        });
      } finally {
        bursting = false;
        await bystanderReads;
        await stall;
      }
      const elapsedMs = Date.now() - started;
      console.info(
        `burst: ${REQUESTS} requests in ${elapsedMs} ms, statuses ${JSON.stringify(statuses)}, ` +
          `shed as ${JSON.stringify(messages)}; bystander ${JSON.stringify(bystanderStatuses)}`,
      );

      // The database holds exactly the workspaces answered with 201, each with its owner only.
      const workspaces = await admin.workspace.findMany({
        where: { name: { startsWith: `${label} ` } },
        select: { id: true, members: { select: { userId: true, role: true } } },
      });
      const stored = new Map(workspaces.map((w) => [w.id, w.members]));

      expect({
        unexpected,
        fiveHundreds: statuses[500] ?? 0,
        answered: Object.values(statuses).reduce((a, b) => a + b, 0),
      }).toEqual({ unexpected: [], fiveHundreds: 0, answered: REQUESTS });
      expect(Object.keys(statuses).every((s) => ['201', ...SHED.map(String)].includes(s))).toBe(
        true,
      );
      expect([...stored.keys()].sort()).toEqual([...created.keys()].sort());
      expect(stored.size).toBe(statuses[201] ?? 0);
      for (const [id, members] of stored) {
        expect(members).toEqual([{ userId: created.get(id), role: 'OWNER' }]);
      }
      expect({
        bystanderUnexpected,
        bystander500s: bystanderStatuses[500] ?? 0,
        bystanderServed: (bystanderStatuses[200] ?? 0) > 0,
      }).toEqual({ bystanderUnexpected: [], bystander500s: 0, bystanderServed: true });
    },
    RUN_TIMEOUT_MS,
  );
});
