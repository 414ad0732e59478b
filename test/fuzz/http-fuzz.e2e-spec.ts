import type { INestApplication } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import fc from 'fast-check';
import { createHmac, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  adminPrisma,
  createTenant,
  createTestApp,
  TEST_JWT_SECRET,
  type TestTenant,
} from '../support/test-app';

/**
 * Property-based fuzzing of the HTTP API with fast-check, over real sockets: malformed and odd
 * bearer tokens, bodies of every shape and type, malformed JSON, wrong content types, oversized and
 * deeply nested bodies, odd path parameters and query strings. For every generated request:
 *
 * - the answer is never a 5xx (nor no answer at all), and every 4xx has Nest's JSON error body;
 * - no answer carries an identifier of the other workspace (B), and B's rows never change;
 * - a rejected request (4xx) leaves the database exactly as it was (row hashes and counts, taken
 *   as app_admin before and after);
 * - an accepted one only touches the caller's workspace (A).
 *
 * Runs per property are stated below (NUM_RUNS, 410 in total); each property also stops after
 * TIME_LIMIT_MS, which counts as a failure. FUZZ_SEED=<n> replays a run (fast-check prints the
 * seed and the counterexample of a failure).
 */

const NUM_RUNS = {
  tokens: 150,
  bodies: 80,
  unicode: 40,
  rawBodies: 60,
  nesting: 30,
  reads: 50,
};
/** Per property; reaching it fails the property (so the run stays bounded). */
const TIME_LIMIT_MS = 45_000;
/** Client-side limit of one request: a hang is a failure, never a stuck test. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Express' default JSON/urlencoded body limit. */
const BODY_LIMIT_BYTES = 100 * 1024;

const seed = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};
/** fast-check settings of every property: its runs, the time limit and the optional seed. */
const params = (
  numRuns: number,
): {
  numRuns: number;
  interruptAfterTimeLimit: number;
  markInterruptAsFailure: boolean;
  seed?: number;
} => ({
  numRuns,
  interruptAfterTimeLimit: TIME_LIMIT_MS,
  markInterruptAsFailure: true,
  ...seed,
});

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
  body: unknown;
}

/** Row hashes of A and B and row counts of every table the API can write. */
interface Snapshot {
  a: { workspace: string; members: string; items: string };
  b: { workspace: string; members: string; items: string };
  counts: Record<string, number>;
}

/** A plain description of a request, for failure messages (long values cut). */
function describeRequest(request: FuzzRequest): string {
  const cut = (value: string) =>
    value.length > 200 ? `${value.slice(0, 200)}… (${value.length} chars)` : value;
  return JSON.stringify({
    method: request.method,
    path: cut(request.path),
    headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, cut(v)])),
    body: request.body === undefined ? undefined : cut(request.body),
  });
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT with exactly this header, payload and signature kind (no library normalizes anything). */
function forgeToken(
  header: unknown,
  payload: unknown,
  signature: 'hs256' | 'hs512' | 'wrong-secret' | 'empty' | { random: string },
): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload) ?? '')}`;
  const sign = (algorithm: string, secret: string) =>
    createHmac(algorithm, secret).update(input).digest('base64url');
  const tail =
    signature === 'hs256'
      ? sign('sha256', TEST_JWT_SECRET)
      : signature === 'hs512'
        ? sign('sha512', TEST_JWT_SECRET)
        : signature === 'wrong-secret'
          ? sign('sha256', `${TEST_JWT_SECRET}-not`)
          : signature === 'empty'
            ? ''
            : signature.random;
  return `${input}.${tail}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A large generated value that serializes (JSON.stringify) to its content but that fast-check
 * prints by its description, so that a counterexample stays readable.
 */
class Large {
  constructor(
    private readonly description: string,
    private readonly make: () => unknown,
  ) {}

  toJSON(): unknown {
    return this.make();
  }

  [fc.toStringMethod](): string {
    return this.description;
  }
}

const repeated = (text: string, times: number) =>
  new Large(`'${text}' x ${times}`, () => text.repeat(times));

/** The body text of a generated raw body. */
const textOf = (raw: string | Large): string =>
  typeof raw === 'string' ? raw : String(raw.toJSON());

/** What the server parses out of a generated JSON body (Large values materialized). */
const materialize = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

describe('HTTP fuzzing (fast-check)', () => {
  let app: INestApplication;
  let admin: PrismaClient;
  let base: string;
  let a: TestTenant;
  let b: TestTenant;
  /** Items of A and B created in set-up (A may get more from accepted fuzz requests). */
  let itemOfA: string;
  let itemsOfB: string[];
  /** Every identifier of B: none may appear in a response to A or to a stranger. */
  let identifiersOfB: string[];

  async function send(request: FuzzRequest): Promise<Reply> {
    try {
      const response = await fetch(`${base}${request.path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: kept as text, the checks below report it.
      }
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        text,
        body,
      };
    } catch (error) {
      return {
        status: 0,
        contentType: '',
        text: '',
        body: `no response: ${(error as Error).message}`,
      };
    }
  }

  async function snapshot(): Promise<Snapshot> {
    const hash = (table: string, column: string, workspace: string) =>
      `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ${table} t WHERE t.${column} = '${workspace}'::uuid)`;
    const side = (workspace: string, prefix: string) =>
      `${hash('workspaces', 'id', workspace)} AS ${prefix}_workspace,
       ${hash('workspace_members', 'workspace_id', workspace)} AS ${prefix}_members,
       ${hash('approval_items', 'workspace_id', workspace)} AS ${prefix}_items`;
    const tables = [
      'users',
      'workspaces',
      'workspace_members',
      'approval_items',
      'approval_comments',
      'projects',
      'audit_logs',
    ];
    const [row] = await admin.$queryRawUnsafe<Array<Record<string, string | number>>>(
      `SELECT ${side(a.workspaceId, 'a')}, ${side(b.workspaceId, 'b')},
              ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS count_${t}`).join(', ')}`,
    );
    return {
      a: {
        workspace: String(row.a_workspace),
        members: String(row.a_members),
        items: String(row.a_items),
      },
      b: {
        workspace: String(row.b_workspace),
        members: String(row.b_members),
        items: String(row.b_items),
      },
      counts: Object.fromEntries(tables.map((t) => [t, Number(row[`count_${t}`])])),
    };
  }

  /**
   * Sends `request` and checks the rules every request obeys; returns the reply for the
   * property's own checks. Throws (with the request in the message) on a violation.
   */
  async function sendChecked(request: FuzzRequest): Promise<Reply> {
    const before = await snapshot();
    const reply = await send(request);
    const after = await snapshot();
    const where = `\nrequest: ${describeRequest(request)}\nreply: ${reply.status} ${reply.contentType} ${reply.text.slice(0, 500)}`;

    if (reply.status === 0 || reply.status >= 500)
      throw new Error(`server error or no answer${where}`);
    if (reply.status >= 400) {
      const body = reply.body as { statusCode?: unknown; message?: unknown };
      const jsonBody =
        reply.contentType.includes('application/json') &&
        isPlainObject(body) &&
        body.statusCode === reply.status &&
        (typeof body.message === 'string' || Array.isArray(body.message));
      if (!jsonBody) throw new Error(`a ${reply.status} without Nest's JSON error body${where}`);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        throw new Error(
          `a rejected request changed the database: ${JSON.stringify({ before, after })}${where}`,
        );
      }
    }
    if (JSON.stringify(after.b) !== JSON.stringify(before.b)) {
      throw new Error(
        `workspace B changed: ${JSON.stringify({ before: before.b, after: after.b })}${where}`,
      );
    }
    const leaked = identifiersOfB.filter((id) => reply.text.toLowerCase().includes(id));
    if (leaked.length > 0)
      throw new Error(`the reply carries B's identifiers ${leaked.join(', ')}${where}`);
    if (reply.status < 300 && isPlainObject(reply.body) && 'workspaceId' in reply.body) {
      if (reply.body.workspaceId !== a.workspaceId)
        throw new Error(`an accepted write landed outside A${where}`);
    }
    return reply;
  }

  /** Throws with the request and reply when `condition` is false. */
  function check(condition: boolean, what: string, request: FuzzRequest, reply: Reply): void {
    if (!condition) {
      throw new Error(
        `${what}\nrequest: ${describeRequest(request)}\nreply: ${reply.status} ${reply.text.slice(0, 500)}`,
      );
    }
  }

  /** A token of A's user without a workspace claim (for POST /workspaces). */
  const userAuth = () =>
    `Bearer ${forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: a.userId, exp: Math.floor(Date.now() / 1000) + 3600 }, 'hs256')}`;

  const json = (auth: string): Record<string, string> => ({
    authorization: auth,
    'content-type': 'application/json',
  });

  beforeAll(async () => {
    app = await createTestApp();
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
    admin = adminPrisma();
    a = await createTenant(app, 'Fuzz A');
    b = await createTenant(app, 'Fuzz B');
    const create = async (tenant: TestTenant, title: string) => {
      const reply = await send({
        method: 'POST',
        path: '/approval-items',
        headers: json(tenant.auth),
        body: JSON.stringify({ title, description: 'seed' }),
      });
      if (reply.status !== 201)
        throw new Error(`set-up POST answered ${reply.status}: ${reply.text}`);
      return (reply.body as { id: string }).id;
    };
    itemOfA = await create(a, 'A seed');
    itemsOfB = [await create(b, 'B seed 1'), await create(b, 'B seed 2')];
    identifiersOfB = [b.workspaceId, b.userId, ...itemsOfB].map((id) => id.toLowerCase());
  }, 60_000);

  afterAll(async () => {
    try {
      await admin?.workspace.deleteMany({
        where: { id: { in: [a?.workspaceId, b?.workspaceId].filter(Boolean) } },
      });
    } finally {
      await admin?.$disconnect();
      await app?.close();
    }
  });

  // ----------------------------------------------------------------------------------------------
  // Tokens
  // ----------------------------------------------------------------------------------------------

  type Endpoint = {
    method: FuzzRequest['method'];
    path: () => string;
    body?: string;
    needs: 'user' | 'tenant';
    ok: number;
  };
  const endpoints: Endpoint[] = [
    { method: 'GET', path: () => '/approval-items', needs: 'tenant', ok: 200 },
    { method: 'GET', path: () => `/approval-items/${itemOfA}`, needs: 'tenant', ok: 200 },
    { method: 'GET', path: () => `/approval-items/${itemsOfB[0]}`, needs: 'tenant', ok: 404 },
    {
      method: 'POST',
      path: () => '/approval-items',
      body: JSON.stringify({ title: 'from a token' }),
      needs: 'tenant',
      ok: 201,
    },
    {
      method: 'PATCH',
      path: () => `/approval-items/${itemOfA}`,
      body: JSON.stringify({ status: 'APPROVED' }),
      needs: 'tenant',
      ok: 200,
    },
    {
      method: 'PATCH',
      path: () => `/approval-items/${itemsOfB[1]}`,
      body: JSON.stringify({ status: 'REJECTED' }),
      needs: 'tenant',
      ok: 404,
    },
    { method: 'GET', path: () => '/workspaces/current', needs: 'tenant', ok: 200 },
    {
      method: 'POST',
      path: () => '/workspaces',
      body: JSON.stringify({ name: 'from a token' }),
      needs: 'user',
      ok: 201,
    },
  ];

  /**
   * What the API must answer to a correctly HS256-signed token with these claims: the endpoint's
   * success status, 401 (unusable token or subject) or 403 (no usable workspace, or not a member).
   */
  function expectedStatus(claims: unknown, endpoint: Endpoint): number {
    const now = Date.now() / 1000;
    if (!isPlainObject(claims)) return 401;
    // 60 s away from the 5 s tolerance on either side: the oracle never races the clock.
    if (typeof claims.exp !== 'number' || claims.exp < now + 60) return 401;
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now + 5)) {
      return 401;
    }
    // An `iat` that is present must be a number (RFC 7519 NumericDate), even when no age limit is set.
    if (claims.iat !== undefined && typeof claims.iat !== 'number') return 401;
    if (!isUuid(claims.sub)) return 401;
    if (endpoint.needs === 'user') return endpoint.ok;
    if (!isUuid(claims.workspaceId)) return 403;
    const member =
      claims.sub.toLowerCase() === a.userId.toLowerCase() &&
      claims.workspaceId.toLowerCase() === a.workspaceId.toLowerCase();
    return member ? endpoint.ok : 403;
  }

  it(`rejects malformed and odd bearer tokens (${NUM_RUNS.tokens} runs)`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const headerSafe = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 300,
    });
    const segment = fc.uint8Array({ maxLength: 300 }).map((bytes) => b64url(Buffer.from(bytes)));
    const tenKb = 'x'.repeat(10 * 1024);
    const odd = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-1, 0, 1.5, -0.5, Number.MAX_SAFE_INTEGER),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      fc.constantFrom(
        '',
        ' ',
        'null',
        'undefined',
        'not-a-uuid',
        '00000000-0000-0000-0000-00000000000g',
      ),
      fc.string({ maxLength: 40 }),
      fc.constant(null),
      fc.boolean(),
    );
    const subject = fc.oneof(
      odd,
      fc.constantFrom(a.userId, a.userId.toUpperCase(), ` ${a.userId}`),
      fc.uuid(),
    );
    const workspace = fc.oneof(
      odd,
      fc.constantFrom(
        a.workspaceId,
        a.workspaceId.toUpperCase(),
        b.workspaceId,
        `${a.workspaceId}\n`,
      ),
      fc.uuid(),
    );
    const expiry = fc.oneof(
      odd,
      fc.constantFrom(now + 3600, now + 3600.5, now - 3600, 1e15, `${now + 3600}`, [now + 3600]),
    );
    const claims = fc
      .record(
        {
          sub: subject,
          workspaceId: workspace,
          exp: expiry,
          iat: fc.oneof(odd, fc.constant(now)),
          nbf: fc.oneof(odd, fc.constantFrom(now - 10, now + 3600)),
        },
        { requiredKeys: [] },
      )
      .chain((record) =>
        // At most one 10 kB claim: two would pass Node's 16 kB header limit (an empty 431 from Node
        // itself, before the app).
        fc
          .constantFrom(undefined, 'sub', 'workspaceId', 'exp')
          .map((huge) => (huge === undefined ? record : { ...record, [huge]: tenKb })),
      );

    type Case = { authorization: string | undefined; claims?: unknown; family: string };
    const tokenCase: fc.Arbitrary<Case> = fc.oneof(
      // Not a JWT at all.
      headerSafe.map((s) => ({ authorization: s, family: 'random string' })),
      headerSafe.map((s) => ({ authorization: `Bearer ${s}`, family: 'random bearer' })),
      fc
        .constantFrom(
          '',
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNz',
          'Bearer a.b',
          'Bearer ..',
          'Bearer a.b.c.d',
        )
        .map((s) => ({ authorization: s, family: 'edge string' })),
      fc.constant({ authorization: undefined, family: 'no header' }),
      // Three random base64url segments.
      fc.tuple(segment, segment, segment).map(([h, p, s]) => ({
        authorization: `Bearer ${h}.${p}.${s}`,
        family: 'random segments',
      })),
      // A valid payload under a header with a disallowed or malformed algorithm.
      fc
        .record({
          alg: fc.constantFrom(
            'none',
            'HS512',
            'RS256',
            'ES256',
            'HS256 ',
            'hs256',
            'HS384',
            '',
            'PS256',
            null,
            256,
          ),
          signature: fc.constantFrom('hs256', 'hs512', 'empty', 'wrong-secret' as const),
        })
        .map(({ alg, signature }) => ({
          authorization: `Bearer ${forgeToken({ alg, typ: 'JWT' }, { sub: a.userId, workspaceId: a.workspaceId, exp: now + 3600 }, signature)}`,
          family: 'bad algorithm',
        })),
      // A well-formed HS256 token with odd claims, signed with the right secret.
      claims.map((c) => ({
        authorization: `Bearer ${forgeToken({ alg: 'HS256', typ: 'JWT' }, c, 'hs256')}`,
        claims: c,
        family: 'odd claims',
      })),
      // Any JSON value as the payload, signed with the right secret.
      fc.jsonValue({ maxDepth: 3 }).map((payload) => ({
        authorization: `Bearer ${forgeToken({ alg: 'HS256', typ: 'JWT' }, payload, 'hs256')}`,
        claims: payload,
        family: 'any payload',
      })),
      // Valid claims, but the wrong secret or a random signature.
      fc
        .oneof(
          fc.constant('wrong-secret' as const),
          segment.map((random) => ({ random })),
        )
        .map((signature) => ({
          authorization: `Bearer ${forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: a.userId, workspaceId: a.workspaceId, exp: now + 3600 }, signature)}`,
          family: 'bad signature',
        })),
    );

    await fc.assert(
      fc.asyncProperty(tokenCase, fc.constantFrom(...endpoints), async (token, endpoint) => {
        const request: FuzzRequest = {
          method: endpoint.method,
          path: endpoint.path(),
          headers: {
            ...(token.authorization === undefined ? {} : { authorization: token.authorization }),
            ...(endpoint.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: endpoint.body,
        };
        const reply = await sendChecked(request);
        const expected = 'claims' in token ? expectedStatus(token.claims, endpoint) : 401;
        check(reply.status === expected, `${token.family}: expected ${expected}`, request, reply);
      }),
      params(NUM_RUNS.tokens),
    );
  }, 120_000);

  // ----------------------------------------------------------------------------------------------
  // Bodies
  // ----------------------------------------------------------------------------------------------

  /** POST/PATCH targets for body fuzzing, A's token (POST /workspaces: A's user). */
  const writeTarget = () =>
    fc.constantFrom(
      { method: 'POST' as const, path: '/approval-items' },
      { method: 'PATCH' as const, path: `/approval-items/${itemOfA}` },
      { method: 'PATCH' as const, path: `/approval-items/${itemsOfB[0]}` },
      { method: 'POST' as const, path: '/workspaces' },
    );

  /** After an accepted write, what A got must be what was sent, in A, by A's user. */
  function checkAccepted(request: FuzzRequest, reply: Reply, sent: unknown): void {
    if (reply.status >= 300) return;
    check(!request.path.includes(itemsOfB[0]), 'a write to B’s item was accepted', request, reply);
    const item = reply.body as Record<string, unknown>;
    if (request.path === '/workspaces') {
      check(
        isPlainObject(sent) && item.name === sent.name,
        'the workspace differs from the body',
        request,
        reply,
      );
      return;
    }
    check(item.workspaceId === a.workspaceId, 'the item is not in A', request, reply);
    if (request.method === 'POST') {
      check(item.createdById === a.userId, 'the item was not created by A’s user', request, reply);
    }
    if (isPlainObject(sent)) {
      for (const key of ['title', 'description', 'status'] as const) {
        if (key in sent)
          check(item[key] === sent[key], `${key} differs from the body`, request, reply);
      }
    }
  }

  it(`answers JSON bodies of any shape and type with 2xx or a JSON 4xx (${NUM_RUNS.bodies} runs)`, async () => {
    const foreignValue = fc.constantFrom(
      b.workspaceId,
      b.userId,
      itemsOfB[0],
      randomUUID(),
      a.workspaceId,
    );
    const wrongType = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
    );
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constant(''),
      fc.constantFrom(
        repeated('x', 200),
        repeated('x', 201),
        repeated('x', 10 * 1024),
        repeated('y', 10_000),
        repeated('y', 10_001),
      ),
    );
    const field = fc.oneof(text, wrongType);
    const body = fc.oneof(
      // Random JSON values (objects, arrays, primitives).
      fc.jsonValue({ maxDepth: 4 }),
      // The right keys with right or wrong types and lengths.
      fc.record(
        {
          title: field,
          description: field,
          status: fc.oneof(
            fc.constantFrom('PENDING', 'APPROVED', 'REJECTED', 'approved', 'DELETED'),
            wrongType,
          ),
          name: field,
        },
        { requiredKeys: [] },
      ),
      // Keys that must never be taken from a body: ids, the workspace, timestamps, authorship.
      fc
        .record(
          {
            title: fc.constant('ok'),
            workspaceId: foreignValue,
            id: foreignValue,
            createdAt: fc.constantFrom('2020-01-01T00:00:00.000Z', 0, 'now'),
            updatedAt: fc.constant('2020-01-01T00:00:00.000Z'),
            createdById: foreignValue,
            decidedById: foreignValue,
            workspace: fc.constant({ connect: { id: b.workspaceId } }),
          },
          { requiredKeys: ['title'] },
        )
        .filter((record) => Object.keys(record).length > 1),
      // Huge arrays.
      fc.integer({ min: 1_000, max: 20_000 }).map((n) => ({
        title: new Large(`[0..${n - 1}]`, () => Array.from({ length: n }, (_, i) => i)),
      })),
      fc
        .integer({ min: 1_000, max: 20_000 })
        .map(
          (n) =>
            new Large(`[{ title: 'x' }] x ${n}`, () =>
              Array.from({ length: n }, () => ({ title: 'x' })),
            ),
        ),
      // Prototype keys (JSON.parse makes them own properties; an object literal could not).
      fc
        .constantFrom(
          `{"title":"proto","__proto__":{"workspaceId":"${b.workspaceId}"}}`,
          `{"title":"proto","constructor":{"prototype":{"workspaceId":"${b.workspaceId}"}}}`,
          `{"__proto__":{"title":"inherited"}}`,
        )
        .map((text) => JSON.parse(text) as unknown),
    );

    await fc.assert(
      fc.asyncProperty(writeTarget(), body, async (target, sent) => {
        const request: FuzzRequest = {
          ...target,
          headers: json(target.path === '/workspaces' ? userAuth() : a.auth),
          body: JSON.stringify(sent),
        };
        const reply = await sendChecked(request);
        checkAccepted(request, reply, materialize(sent));
      }),
      params(NUM_RUNS.bodies),
    );
  }, 120_000);

  it(`stores any Unicode text verbatim or refuses it with a JSON 400 (${NUM_RUNS.unicode} runs)`, async () => {
    const special = fc.constantFrom(
      '\u0000',
      '\ud800',
      '\udfff',
      '\ufffe',
      '\uffff',
      '\ufeff',
      '\u202e',
      '\\',
      '"',
      '\u2028',
      '💥',
    );
    const unicode = fc.string({
      unit: fc.oneof(special, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      minLength: 1,
      maxLength: 60,
    });
    const target = fc.constantFrom(
      { method: 'POST' as const, path: '/approval-items' },
      { method: 'PATCH' as const, path: `/approval-items/${itemOfA}` },
    );
    await fc.assert(
      fc.asyncProperty(
        target,
        fc.constantFrom('title', 'description'),
        unicode,
        async (where, key, value) => {
          const sent =
            key === 'title' ? { title: value } : { title: 'unicode', description: value };
          const request: FuzzRequest = {
            ...where,
            headers: json(a.auth),
            body: JSON.stringify(sent),
          };
          const reply = await sendChecked(request);
          check([200, 201, 400].includes(reply.status), 'expected 2xx or 400', request, reply);
          checkAccepted(request, reply, sent);
        },
      ),
      params(NUM_RUNS.unicode),
    );
  }, 120_000);

  it(`answers malformed JSON, wrong content types and oversized bodies with 2xx or a JSON 4xx (${NUM_RUNS.rawBodies} runs)`, async () => {
    const contentType = fc.option(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'application/json; charset=bogus',
        'application/vnd.api+json',
        'text/plain',
        'text/html',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=fuzz',
        'application/octet-stream',
        'application/jsonx',
        '*/*',
        'garbage',
      ),
      { nil: undefined },
    );
    const valid = JSON.stringify({ title: 'raw', description: 'raw body' });
    const raw = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.integer({ min: 1, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
      fc.string({ minLength: 1, maxLength: 20 }).map((junk) => `${valid}${junk}`),
      fc.constantFrom(
        valid,
        '{',
        '}',
        '{"title": "x",}',
        "{'title': 'x'}",
        '{"title": NaN}',
        '{"title": undefined}',
        '[]',
        'null',
        'true',
        '0',
        '"string"',
        '\u0000',
        '\ufeff{"title":"bom"}',
        'title=form&description=body',
        'title[a][b][c][d][e][f][g]=deep',
        '--fuzz\r\nContent-Disposition: form-data; name="title"\r\n\r\nmultipart\r\n--fuzz--',
        '<title>xml</title>',
      ),
      // Just over the body limit, as JSON and as form data.
      fc.constantFrom(
        new Large('JSON with a 100 kB description', () =>
          JSON.stringify({ title: 'big', description: 'z'.repeat(BODY_LIMIT_BYTES) }),
        ),
        new Large(
          'form data with a 100 kB description',
          () => `title=big&description=${'z'.repeat(BODY_LIMIT_BYTES)}`,
        ),
        new Large("'z' x 100 kB + 1", () => 'z'.repeat(BODY_LIMIT_BYTES + 1)),
      ),
    );
    await fc.assert(
      fc.asyncProperty(writeTarget(), contentType, raw, async (target, type, generated) => {
        const text = textOf(generated);
        const request: FuzzRequest = {
          ...target,
          headers: {
            authorization: target.path === '/workspaces' ? userAuth() : a.auth,
            ...(type === undefined ? {} : { 'content-type': type }),
          },
          body: text,
        };
        const reply = await sendChecked(request);
        // Express parses exactly these two types (any charset); a larger body must be refused.
        if (
          text.length > BODY_LIMIT_BYTES &&
          /^application\/(json|x-www-form-urlencoded)(;|$)/.test(type ?? '')
        ) {
          check(
            reply.status === 413 || reply.status === 415 || reply.status === 400,
            'an oversized body was not refused',
            request,
            reply,
          );
        }
        if (reply.status < 300) {
          // Accepted: it parsed to something valid; its fields must be exactly what was sent.
          const item = reply.body as Record<string, unknown>;
          check(
            item.workspaceId === undefined || item.workspaceId === a.workspaceId,
            'accepted outside A',
            request,
            reply,
          );
        }
      }),
      params(NUM_RUNS.rawBodies),
    );
  }, 120_000);

  it(`answers deeply nested JSON with a JSON 4xx, never a 5xx (${NUM_RUNS.nesting} runs)`, async () => {
    const nested = fc.record({
      depth: fc.integer({ min: 1, max: 30_000 }),
      shape: fc.constantFrom('array', 'object'),
      place: fc.constantFrom('title', 'description', 'extra', 'top'),
    });
    const build = ({
      depth,
      shape,
      place,
    }: {
      depth: number;
      shape: string;
      place: string;
    }): string => {
      const inner =
        shape === 'array'
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      if (place === 'top') return inner;
      if (place === 'extra') return `{"title":"x","extra":${inner}}`;
      if (place === 'description') return `{"title":"x","description":${inner}}`;
      return `{"title":${inner}}`;
    };
    await fc.assert(
      fc.asyncProperty(writeTarget(), nested, async (target, spec) => {
        const request: FuzzRequest = { ...target, headers: json(a.auth), body: build(spec) };
        if (target.path === '/workspaces') {
          request.headers.authorization = userAuth();
        }
        const reply = await sendChecked(request);
        // Nesting is never a valid body for these endpoints (depth 1 is a title that is an array or
        // an object, or an unknown key).
        check(reply.status >= 400 && reply.status < 500, 'expected a 4xx', request, reply);
      }),
      params(NUM_RUNS.nesting),
    );
  }, 120_000);

  // ----------------------------------------------------------------------------------------------
  // Reads: path parameters and query strings
  // ----------------------------------------------------------------------------------------------

  it(`answers odd ids and query strings with 200, 400 or 404 and never another workspace's data (${NUM_RUNS.reads} runs)`, async () => {
    const id = fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s)),
      fc.uuid(),
      fc.constantFrom(
        itemOfA,
        itemOfA.toUpperCase(),
        itemsOfB[0],
        itemsOfB[0].toUpperCase(),
        b.workspaceId,
        '%E0%A4%A',
        '%00',
        '..%2F..%2Fworkspaces',
        `${itemOfA}%00`,
        'x'.repeat(2000),
      ),
    );
    const queryValue = fc.oneof(
      fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
      fc.integer().map(String),
      fc.constantFrom(
        '1',
        '100',
        '101',
        '0',
        '-1',
        '1e400',
        '0x10',
        '1.5',
        ' 1',
        'NaN',
        'Infinity',
        '%00',
        '[]',
      ),
    );
    const query = fc
      .record(
        {
          take: queryValue,
          skip: queryValue,
          extra: queryValue,
          'take[]': queryValue,
          'skip[a]': queryValue,
          workspaceId: fc.constant(b.workspaceId),
        },
        { requiredKeys: [] },
      )
      .map((q) =>
        Object.entries(q)
          .map(([k, v]) => `${k}=${v}`)
          .join('&'),
      );
    const read = fc.oneof(
      id.map((value) => ({ path: `/approval-items/${value}`, list: false })),
      query.map((q) => ({ path: `/approval-items${q ? `?${q}` : ''}`, list: true })),
    );

    await fc.assert(
      fc.asyncProperty(read, async ({ path, list }) => {
        const request: FuzzRequest = { method: 'GET', path, headers: { authorization: a.auth } };
        const reply = await sendChecked(request);
        check([200, 400, 404].includes(reply.status), 'expected 200, 400 or 404', request, reply);
        if (reply.status === 200) {
          // `/approval-items/` with an empty id is the list route.
          const items = (Array.isArray(reply.body) ? reply.body : [reply.body]) as Array<
            Record<string, unknown>
          >;
          check(
            items.every((item) => item.workspaceId === a.workspaceId),
            'an item outside A',
            request,
            reply,
          );
          check(
            list || Array.isArray(reply.body) || (reply.body as { id?: unknown }).id !== undefined,
            'not an item',
            request,
            reply,
          );
        }
      }),
      params(NUM_RUNS.reads),
    );
  }, 120_000);
  // ----------------------------------------------------------------------------------------------
  // Minimal inputs the properties found, kept as plain examples: one library bug each.
  // ----------------------------------------------------------------------------------------------

  describe('regressions found by fuzzing', () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    it.each([
      ['a NUL character in a title', '{"title":"a\\u0000b"}'],
      ['a NUL character in a description', '{"title":"ok","description":"\\u0000"}'],
      ['a lone surrogate in a title', '{"title":"\\ud800"}'],
      ['5,000 nested arrays in an unknown key (10 kB)', `{"title":"x","extra":${nested(5000)}}`],
      ['5,000 nested arrays as the title', `{"title":${nested(5000)}}`],
    ])('refuses %s with a JSON 400', async (_, body) => {
      const reply = await sendChecked({
        method: 'POST',
        path: '/approval-items',
        headers: json(a.auth),
        body,
      });
      expect({
        status: reply.status,
        statusCode: (reply.body as { statusCode?: unknown }).statusCode,
      }).toEqual({
        status: 400,
        statusCode: 400,
      });
    });
  });
});
