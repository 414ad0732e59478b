/**
 * Client-level benchmark: the same operations through node-postgres, plain Prisma and the tenant
 * client, in one process, against the seeded database. Also the profile cases that split the
 * tenant client's cost into its parts.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import pg from 'pg';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  tenantContext,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
// Internal to the library (not in its public barrel): the batch guard, for the post-check simulation.
import type { PostgresCpuProbe } from './cpu';
import type { BenchDatabase, SeededWorkspace } from './database';
import { runLoad, type LoadResult, type Operation } from './load';
import { withInteractiveTransaction, withRlsBatchTransaction } from './peer-mechanisms';
import { summarize, traceStatements } from './statement-trace';

/** The operation groups of the brief. */
export type Group = 'pk' | 'list' | 'create' | 'update';

/** One benchmark case: an operation through one path at one concurrency. */
export interface ClientCase {
  /** Stable key, e.g. `pk/tenant/c10`. */
  key: string;
  group: Group;
  /** The access path, e.g. `pg`, `plain`, `tenant`. */
  path: string;
  label: string;
  concurrency: number;
  /** Main comparison (true) or a profile case that explains the tenant path's cost. */
  main: boolean;
  op: Operation;
}

/** All runs of one case. */
export interface ClientCaseResult {
  key: string;
  group: Group;
  path: string;
  label: string;
  concurrency: number;
  main: boolean;
  runs: LoadResult[];
  /** Median ops/s over the runs (robust to a burst of load from elsewhere on the machine). */
  opsPerSecond: number;
  /** Median CPU µs per operation: this process (client side) and the PostgreSQL backends. */
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number | undefined;
}

/** A row as node-postgres returns it. */
type Row = Record<string, unknown>;

/** Pool size of every client, as the library's default (`pool.max`). */
const POOL_MAX = 10;

/** Columns Prisma reads for an ApprovalItem (every scalar), so that node-postgres reads the same. */
const COLUMNS =
  'id, workspace_id, project_id, ai_provider_config_id, title, description, payload, status, confidence, ' +
  'created_by_id, decided_by_id, decided_at, due_at, created_at, updated_at';

/** A query extension that passes every call through unchanged. */
const noopExtension = Prisma.defineExtension({
  name: 'bench-noop',
  query: {
    $allModels: {
      $allOperations({ args, query }) {
        return query(args);
      },
    },
  },
});

/** The clients under test. Close them with `close()`. */
export class BenchClients {
  /** node-postgres as the owner. */
  readonly pool: pg.Pool;
  /** "Prisma with no tenancy": PrismaPg over the owner's connection. */
  readonly plain: PrismaClient;
  /** The tenant client (both layers) as app_runtime. */
  readonly tenant: TenantPrismaClient;
  /** Layer 1 alone: the tenant client over a plain PrismaPg pool as the owner (no RLS, no set_config). */
  readonly layer1: TenantPrismaClient;
  /** Layer 2 alone: an unextended PrismaClient over the TenantAwarePool as app_runtime. */
  readonly layer2: PrismaClient;
  /** Plain Prisma plus a query extension that does nothing: the cost of Prisma's extension machinery. */
  readonly plainNoop: PrismaClient;
  /** Peer (a), the official RLS extension's mechanism, over plain PrismaPg as app_runtime. */
  readonly rlsBatch: PrismaClient;
  /** Peer (b), an interactive transaction per query, over the same client as `rlsBatch`. */
  readonly itx: PrismaClient;
  private readonly bases: PrismaClient[];

  /**
   * @param via rewrites every connection URL (the latency proxy); identity by default.
   * @param profiles also connect the profile clients (layer 1 alone, layer 2 alone, no-op extension).
   */
  constructor(db: BenchDatabase, via: (url: string) => string = (url) => url, profiles = true) {
    // A superuser owner is not subject to RLS. Any other owner is (FORCE), so "no tenancy" then
    // reads through app_admin, whose policy is `true` for every row.
    const plainUrl = via(db.ownerIsSuperuser ? db.ownerUrl : db.adminUrl);
    const runtimeUrl = via(db.runtimeUrl);
    this.pool = new pg.Pool({ connectionString: plainUrl, max: POOL_MAX });
    this.plain = new PrismaClient({
      adapter: new PrismaPg({ connectionString: plainUrl, max: POOL_MAX }),
    });
    const tenantBase = new PrismaClient({
      adapter: createTenantAdapter(runtimeUrl, { max: POOL_MAX }),
    });
    this.tenant = createTenantPrismaClient(tenantBase);
    const layer1Base = new PrismaClient({
      adapter: new PrismaPg({ connectionString: plainUrl, max: POOL_MAX }),
    });
    this.layer1 = createTenantPrismaClient(layer1Base);
    this.layer2 = new PrismaClient({
      adapter: createTenantAdapter(runtimeUrl, { max: POOL_MAX }),
    });
    this.plainNoop = this.plain.$extends(noopExtension) as unknown as PrismaClient;
    const peerBase = new PrismaClient({
      adapter: new PrismaPg({ connectionString: runtimeUrl, max: POOL_MAX }),
    });
    this.rlsBatch = withRlsBatchTransaction(peerBase);
    this.itx = withInteractiveTransaction(peerBase);
    // Prisma and node-postgres open connections on first use: unused clients cost nothing.
    this.bases = profiles
      ? [this.plain, tenantBase, peerBase, layer1Base, this.layer2]
      : [this.plain, tenantBase, peerBase];
  }

  async connect(): Promise<void> {
    await Promise.all(this.bases.map((client) => client.$connect()));
  }

  async close(): Promise<void> {
    await Promise.all(this.bases.map((client) => client.$disconnect()));
    await this.pool.end();
  }
}

function found<T>(row: T | null | undefined): T {
  if (row === null || row === undefined)
    throw new Error('row not found (wrong scoping or RLS setting?)');
  return row;
}

function listed<T>(rows: T[]): T[] {
  if (rows.length !== 20) throw new Error(`expected 20 rows, got ${rows.length}`);
  return rows;
}

/** Picks a caller's `iteration`-th id, spreading callers over the list. */
function pick(ids: readonly string[], caller: number, iteration: number): string {
  return ids[(caller * 101 + iteration * 37) % ids.length];
}

/**
 * Builds every case. `same` is the workspace all callers use; the "spread" variant gives caller i
 * workspace i (mod the number of workspaces).
 */
export function buildCases(
  clients: BenchClients,
  workspaces: SeededWorkspace[],
  concurrencies: number[],
  include: (c: ClientCase) => boolean = () => true,
): ClientCase[] {
  const same = workspaces[0];
  const { pool, plain, tenant, layer1, layer2, plainNoop } = clients;
  // The peers, by path name; each runs the same calls as the tenant client (the RLS policies do the
  // scoping, so a create names its workspace itself, as the peers' users must).
  const peers: [string, string, PrismaClient][] = [
    ['rls-batch', 'peer (a): batch $transaction([set_config, query]) per query', clients.rlsBatch],
    ['itx', 'peer (b): interactive $transaction: BEGIN, set_config, query, COMMIT', clients.itx],
  ];
  const ws = same.id;
  // Creates go to the last workspace, so that the list (workspace 0) reads the same rows throughout.
  const writes = workspaces[workspaces.length - 1].id;
  const inTenant =
    (fn: Operation, spread = false): Operation =>
    (caller, iteration) =>
      runInTenant(spread ? workspaces[caller % workspaces.length].id : ws, () =>
        fn(caller, iteration),
      );
  const spreadIds = (caller: number) => workspaces[caller % workspaces.length].itemIds;
  const spreadWorkspace = (caller: number) => workspaces[caller % workspaces.length].id;
  // Each caller updates its own rows (no lock waits between callers).
  const updateId = (caller: number, iteration: number, concurrency: number) =>
    same.updateIds[(caller + iteration * concurrency) % same.updateIds.length];

  const cases: ClientCase[] = [];
  for (const c of concurrencies) {
    const add = (group: Group, path: string, label: string, op: Operation, main = true) => {
      const entry = { key: `${group}/${path}/c${c}`, group, path, label, concurrency: c, main, op };
      if (include(entry)) cases.push(entry);
    };
    const multi = c > 1;

    // Primary-key lookup.
    add('pk', 'pg', 'node-postgres pool.query by id', async (i, n) =>
      found(
        (
          await pool.query<Row>(`SELECT ${COLUMNS} FROM approval_items WHERE id = $1`, [
            pick(same.itemIds, i, n),
          ])
        ).rows[0],
      ),
    );
    add('pk', 'plain', 'Prisma findUnique({ id })', async (i, n) =>
      found(
        await plain.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: ws, id: pick(same.itemIds, i, n) } },
        }),
      ),
    );
    add(
      'pk',
      'tenant',
      'tenant client findUnique (both layers), one workspace',
      inTenant(async (i, n) =>
        found(await tenant.approvalItem.findUnique({ where: { id: pick(same.itemIds, i, n) } })),
      ),
    );
    for (const [path, label, client] of peers) {
      add(
        'pk',
        path,
        `${label}: findUnique({ id })`,
        inTenant(async (i, n) =>
          found(
            await client.approvalItem.findUnique({
              where: { workspaceId_id: { workspaceId: ws, id: pick(same.itemIds, i, n) } },
            }),
          ),
        ),
      );
    }
    if (multi) {
      // Callers spread over the workspaces: what an app without the library would write (the
      // workspace as an extra filter, which Prisma cannot batch either), and plain Prisma by the
      // (workspace_id, id) key alone (batched into one statement: nothing separates the callers).
      add(
        'pk',
        'plain-scoped-spread',
        `plain Prisma findUnique({ workspaceId_id, workspaceId }), callers over ${workspaces.length} workspaces`,
        async (i, n) =>
          found(
            await plain.approvalItem.findUnique({
              where: {
                workspaceId_id: { workspaceId: spreadWorkspace(i), id: pick(spreadIds(i), i, n) },
                workspaceId: spreadWorkspace(i),
              },
            }),
          ),
      );
      add(
        'pk',
        'plain-spread',
        `plain Prisma findUnique({ workspaceId_id }) (batched: the key alone), callers over ${workspaces.length} workspaces`,
        async (i, n) =>
          found(
            await plain.approvalItem.findUnique({
              where: {
                workspaceId_id: { workspaceId: spreadWorkspace(i), id: pick(spreadIds(i), i, n) },
              },
            }),
          ),
      );
      add(
        'pk',
        'tenant-spread',
        `tenant client findUnique, callers over ${workspaces.length} workspaces`,
        inTenant(
          async (i, n) =>
            found(
              await tenant.approvalItem.findUnique({ where: { id: pick(spreadIds(i), i, n) } }),
            ),
          true,
        ),
      );
    }
    add(
      'pk',
      'plain-and',
      'profile: plain Prisma, where { id, AND: [{ workspaceId }] } (shape only)',
      async (i, n) =>
        found(
          await plain.approvalItem.findUnique({
            where: {
              ...{ workspaceId_id: { workspaceId: ws, id: pick(same.itemIds, i, n) } },
              AND: [{ workspaceId: ws }],
            },
          }),
        ),
      false,
    );
    add(
      'pk',
      'plain-noop-ext',
      'profile: plain Prisma + a query extension that does nothing',
      async (i, n) =>
        found(
          await plainNoop.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: ws, id: pick(same.itemIds, i, n) } },
          }),
        ),
      false,
    );
    add(
      'pk',
      'layer1',
      'profile: layer 1 alone (tenant client over owner pool)',
      inTenant(async (i, n) =>
        found(await layer1.approvalItem.findUnique({ where: { id: pick(same.itemIds, i, n) } })),
      ),
      false,
    );
    add(
      'pk',
      'layer2',
      'profile: layer 2 alone (plain Prisma over TenantAwarePool, RLS)',
      inTenant(async (i, n) =>
        found(
          await layer2.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: ws, id: pick(same.itemIds, i, n) } },
          }),
        ),
      ),
      false,
    );

    // Filtered list: 20 PENDING items of the workspace, oldest first. Without tenancy the app
    // filters by workspace itself (the same index serves all three paths).
    add('list', 'pg', 'node-postgres', async () =>
      listed(
        (
          await pool.query<Row>(
            `SELECT ${COLUMNS} FROM approval_items WHERE workspace_id = $1 AND status = 'PENDING'
              ORDER BY created_at ASC LIMIT 20`,
            [ws],
          )
        ).rows,
      ),
    );
    add('list', 'plain', 'Prisma findMany({ workspaceId, status })', async () =>
      listed(
        await plain.approvalItem.findMany({
          where: { workspaceId: ws, status: 'PENDING' },
          orderBy: { createdAt: 'asc' },
          take: 20,
        }),
      ),
    );
    add(
      'list',
      'tenant',
      'tenant client findMany({ status })',
      inTenant(async () =>
        listed(
          await tenant.approvalItem.findMany({
            where: { status: 'PENDING' },
            orderBy: { createdAt: 'asc' },
            take: 20,
          }),
        ),
      ),
    );

    for (const [path, label, client] of peers) {
      add(
        'list',
        path,
        `${label}: findMany({ status })`,
        inTenant(async () =>
          listed(
            await client.approvalItem.findMany({
              where: { status: 'PENDING' },
              orderBy: { createdAt: 'asc' },
              take: 20,
            }),
          ),
        ),
      );
    }

    // Create.
    add('create', 'pg', 'node-postgres INSERT ... RETURNING', async (i, n) =>
      found(
        (
          await pool.query<Row>(
            `INSERT INTO approval_items (workspace_id, title, status, created_at, updated_at)
             VALUES ($1, $2, 'PENDING', $3, $3) RETURNING ${COLUMNS}`,
            [writes, `pg ${i}/${n}`, new Date()],
          )
        ).rows[0],
      ),
    );
    add('create', 'plain', 'Prisma create({ workspaceId, title })', async (i, n) =>
      found(
        await plain.approvalItem.create({
          data: { workspaceId: writes, title: `plain ${i}/${n}` },
        }),
      ),
    );
    add('create', 'tenant', 'tenant client create({ title })', async (i, n) =>
      found(
        await runInTenant(writes, () =>
          tenant.approvalItem.create({ data: { title: `tenant ${i}/${n}` } }),
        ),
      ),
    );

    for (const [path, label, client] of peers) {
      add('create', path, `${label}: create({ workspaceId, title })`, async (i, n) =>
        found(
          await runInTenant(writes, () =>
            client.approvalItem.create({
              data: { workspaceId: writes, title: `${path} ${i}/${n}` },
            }),
          ),
        ),
      );
    }

    // Update by primary key.
    add('update', 'pg', 'node-postgres UPDATE ... RETURNING', async (i, n) =>
      found(
        (
          await pool.query<Row>(
            `UPDATE approval_items SET title = $1, updated_at = $2 WHERE id = $3 RETURNING ${COLUMNS}`,
            [`pg ${n}`, new Date(), updateId(i, n, c)],
          )
        ).rows[0],
      ),
    );
    add('update', 'plain', 'Prisma update({ id })', async (i, n) =>
      found(
        await plain.approvalItem.update({
          where: { workspaceId_id: { workspaceId: ws, id: updateId(i, n, c) } },
          data: { title: `plain ${n}` },
        }),
      ),
    );
    add(
      'update',
      'tenant',
      'tenant client update({ id })',
      inTenant(async (i, n) =>
        found(
          await tenant.approvalItem.update({
            where: { id: updateId(i, n, c) },
            data: { title: `tenant ${n}` },
          }),
        ),
      ),
    );
    for (const [path, label, client] of peers) {
      add(
        'update',
        path,
        `${label}: update({ id })`,
        inTenant(async (i, n) =>
          found(
            await client.approvalItem.update({
              where: { workspaceId_id: { workspaceId: ws, id: updateId(i, n, c) } },
              data: { title: `${path} ${n}` },
            }),
          ),
        ),
      );
    }
  }
  return cases;
}

/** Timing of the client benchmark. */
export interface ClientBenchSettings {
  concurrencies: number[];
  /** Per concurrency: how many windows (rounds), each window's length, and warm-ups, ms. */
  rounds: (concurrency: number) => number;
  durationMs: (concurrency: number) => number;
  warmupMs: (concurrency: number, round: number) => number;
}

/** The median (mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs every case `rounds` times in short windows, interleaved (odd rounds in order, even rounds
 * in reverse order), so that load from elsewhere on the machine and drift spread over all cases;
 * the median window counts.
 */
export async function runClientBench(
  cases: ClientCase[],
  settings: ClientBenchSettings,
  postgres: PostgresCpuProbe | undefined,
  log: (line: string) => void,
): Promise<ClientCaseResult[]> {
  const results = new Map<string, ClientCaseResult>(
    cases.map((c) => [
      c.key,
      {
        key: c.key,
        group: c.group,
        path: c.path,
        label: c.label,
        concurrency: c.concurrency,
        main: c.main,
        runs: [],
        opsPerSecond: 0,
        clientCpuUsPerOp: 0,
        serverCpuUsPerOp: undefined,
      },
    ]),
  );
  const rounds = Math.max(...cases.map((c) => settings.rounds(c.concurrency)));
  for (let round = 1; round <= rounds; round++) {
    const order = (round % 2 === 1 ? cases : [...cases].reverse()).filter(
      (c) => round <= settings.rounds(c.concurrency),
    );
    for (const c of order) {
      const run = await runLoad(c.op, {
        concurrency: c.concurrency,
        warmupMs: settings.warmupMs(c.concurrency, round),
        durationMs: settings.durationMs(c.concurrency),
        postgres,
      });
      const result = results.get(c.key) as ClientCaseResult;
      result.runs.push(run);
      log(
        `  round ${round}  ${c.key.padEnd(26)} ${run.opsPerSecond.toFixed(0).padStart(6)} ops/s` +
          `  p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(2)} ms` +
          `  cpu/op ${run.clientCpuUsPerOp.toFixed(0)} µs + pg ${run.serverCpuUsPerOp?.toFixed(0) ?? '?'} µs` +
          `  load ${run.loadAverage.toFixed(1)}` +
          (run.errors ? `  ERRORS ${run.errors}: ${run.firstError}` : ''),
      );
    }
  }
  for (const result of results.values()) {
    result.opsPerSecond = median(result.runs.map((r) => r.opsPerSecond));
    result.clientCpuUsPerOp = median(result.runs.map((r) => r.clientCpuUsPerOp));
    const server = result.runs.map((r) => r.serverCpuUsPerOp);
    result.serverCpuUsPerOp = server.every((v) => v !== undefined) ? median(server) : undefined;
  }
  return [...results.values()];
}

/** One burst of concurrent calls and what it sent. */
export interface BurstTrace {
  path: string;
  burst: string;
  sent: string;
  statements: number;
  connections: number;
}

/**
 * What each path sends for one burst of `size` concurrent findUnique calls made in the same tick
 * (as 10 concurrent callers often do), and for single list/create/update calls.
 */
export async function traceBursts(
  clients: BenchClients,
  workspaces: SeededWorkspace[],
  size = 10,
): Promise<BurstTrace[]> {
  const [first] = workspaces;
  const ids = first.itemIds.slice(0, size);
  const { plain, tenant, layer1, layer2 } = clients;
  const bursts: [string, string, () => Promise<unknown>][] = [
    [
      'plain',
      `${size} × findUnique({ id })`,
      () =>
        Promise.all(
          ids.map((id) =>
            plain.approvalItem.findUnique({
              where: { workspaceId_id: { workspaceId: first.id, id: id } },
            }),
          ),
        ),
    ],
    [
      'plain-and',
      `${size} × findUnique({ id, AND: [{ workspaceId }] })`,
      () =>
        Promise.all(
          ids.map((id) =>
            plain.approvalItem.findUnique({
              where: {
                ...{ workspaceId_id: { workspaceId: first.id, id: id } },
                AND: [{ workspaceId: first.id }],
              },
            }),
          ),
        ),
    ],
    [
      'plain-scoped',
      `${size} × findUnique({ id, workspaceId }), ${Math.min(size, workspaces.length)} workspaces`,
      () =>
        Promise.all(
          Array.from({ length: size }, (_, i) => workspaces[i % workspaces.length]).map((w) =>
            plain.approvalItem.findUnique({
              where: { workspaceId_id: { workspaceId: w.id, id: w.itemIds[0] } },
            }),
          ),
        ),
    ],
    [
      'layer1',
      `${size} × findUnique({ id }), one workspace`,
      () =>
        Promise.all(
          ids.map((id) =>
            runInTenant(first.id, () => layer1.approvalItem.findUnique({ where: { id } })),
          ),
        ),
    ],
    [
      'layer2',
      `${size} × findUnique({ id }), one workspace`,
      () =>
        Promise.all(
          ids.map((id) =>
            runInTenant(first.id, () =>
              layer2.approvalItem.findUnique({
                where: { workspaceId_id: { workspaceId: first.id, id: id } },
              }),
            ),
          ),
        ),
    ],
    [
      'tenant',
      `${size} × findUnique({ id }), one workspace`,
      () =>
        Promise.all(
          ids.map((id) =>
            runInTenant(first.id, () => tenant.approvalItem.findUnique({ where: { id } })),
          ),
        ),
    ],
    [
      'tenant-spread',
      `${size} × findUnique({ id }), ${Math.min(size, workspaces.length)} workspaces`,
      () =>
        Promise.all(
          Array.from({ length: size }, (_, i) => workspaces[i % workspaces.length]).map((w) =>
            runInTenant(w.id, () =>
              tenant.approvalItem.findUnique({ where: { id: w.itemIds[0] } }),
            ),
          ),
        ),
    ],
    [
      'rls-batch',
      '1 × findUnique({ id }) (peer a)',
      () =>
        runInTenant(first.id, () =>
          clients.rlsBatch.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: first.id, id: ids[0] } },
          }),
        ),
    ],
    [
      'itx',
      '1 × findUnique({ id }) (peer b)',
      () =>
        runInTenant(first.id, () =>
          clients.itx.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: first.id, id: ids[0] } },
          }),
        ),
    ],
    [
      'tenant',
      '1 × findMany, create, update, delete',
      () =>
        runInTenant(first.id, async () => {
          await tenant.approvalItem.findMany({ where: { status: 'PENDING' }, take: 20 });
          const created = await tenant.approvalItem.create({ data: { title: 'trace' } });
          await tenant.approvalItem.update({
            where: { id: created.id },
            data: { title: 'traced' },
          });
          await tenant.approvalItem.delete({ where: { id: created.id } });
        }),
    ],
  ];
  const traces: BurstTrace[] = [];
  for (const [path, burst, fn] of bursts) {
    const trace = await traceStatements(fn);
    traces.push({
      path,
      burst,
      sent: summarize(trace),
      statements: trace.statements.length,
      connections: trace.connections,
    });
  }
  return traces;
}

/** Sanity check before measuring: each path sees the seeded rows (RLS and scoping work as expected). */
export async function checkClients(
  clients: BenchClients,
  workspaces: SeededWorkspace[],
): Promise<void> {
  const [a, b] = workspaces;
  const id = a.itemIds[0];
  const key = { workspaceId_id: { workspaceId: a.id, id: id } };
  found(await clients.plain.approvalItem.findUnique({ where: key }));
  found(await runInTenant(a.id, () => clients.tenant.approvalItem.findUnique({ where: { id } })));
  for (const peer of [clients.rlsBatch, clients.itx]) {
    found(await runInTenant(a.id, () => peer.approvalItem.findUnique({ where: key })));
    const hidden = await runInTenant(b.id, () => peer.approvalItem.findUnique({ where: key }));
    if (hidden !== null)
      throw new Error('a peer mechanism read another workspace row: RLS not applied');
  }
  const foreign = await runInTenant(b.id, () =>
    clients.tenant.approvalItem.findUnique({ where: { id } }),
  );
  if (foreign !== null)
    throw new Error('the tenant client returned another workspace row: isolation is broken');
  const viaRls = await runInTenant(b.id, () =>
    clients.layer2.approvalItem.findUnique({ where: key }),
  );
  if (viaRls !== null)
    throw new Error('Row-Level Security did not hide another workspace row from app_runtime');
  if (tenantContext.getTenantId() !== undefined)
    throw new Error('tenant context leaked out of runInTenant');
}
