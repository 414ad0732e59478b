/**
 * `npm run bench:citus` (`tsx bench/citus-bench.ts`): the tenant client's primary-key lookup on a
 * 3-node Citus cluster beside the same lookup on plain PostgreSQL, plain Prisma the baseline on each
 * (issue 11).
 *
 * 1. Starts a throw-away Citus cluster (coordinator + 2 workers, scripts/citus/citus-cluster.ts),
 *    migrates and distributes it (scripts/citus/citus-database.ts); creates a scratch database on
 *    the local PostgreSQL the way `npm run bench` does (bench/database.ts, no seed of its own).
 * 2. Seeds both with the same rows through an app_admin Prisma client: 20 workspaces × 50 items.
 * 3. Main cases, on each server, 1 and 10 callers, interleaved rounds (bench/client-bench.ts's
 *    runner; the median window counts): plain Prisma `findUnique({ where: { workspaceId_id } })`
 *    over the owner's connection (a superuser, as `npm run bench`'s "no tenancy" baseline), and
 *    the tenant client `runInTenant(ws, () => findUnique({ where: { id } }))` as app_runtime
 *    (settingMode 'auto': SET LOCAL on Citus, set_config on PostgreSQL). Every caller in one
 *    workspace, as `npm run bench`'s main PK case; the profile has the same two spread over the 20
 *    workspaces (so over the shards).
 * 4. Profile cases (one round): the same lookup through node-postgres' simple protocol as the owner,
 *    alone and inside `BEGIN; …; COMMIT` (one round trip each); plain Prisma as app_admin (RLS,
 *    policy `USING (true)`); and layer 2 alone (an unextended PrismaClient over the tenant adapter:
 *    the pipelined claim and RLS, no query extension). They split the Citus cost into the
 *    transaction block, the claim with its RLS check on the worker, and layer 1.
 * 5. Writes bench/results/citus.json (git-ignored) and bench/CITUS-RESULTS.md. Always stops and
 *    removes the cluster and drops the scratch database (also on SIGINT/SIGTERM).
 *
 * Needs root (the cluster's servers run as `postgres`). Environment: DIRECT_URL (the PostgreSQL
 * server; default postgresql://postgres@127.0.0.1:5432), BENCH_CITUS_DATABASE (scratch database on
 * it, default tenancy_bench_citus), BENCH_QUICK=1 (short windows), BENCH_NO_DOCUMENT=1 (leave
 * CITUS-RESULTS.md as it is).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { format, resolveConfig } from 'prettier';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { startCitusCluster, type CitusCluster } from '../scripts/citus/citus-cluster';
import { prepareCitusDatabase } from '../scripts/citus/citus-database';
import { withDatabase } from '../src/database/database-bootstrap';
import { PROJECT_ROOT } from '../src/database/project-root';
import {
  runClientBench,
  type ClientBenchSettings,
  type ClientCase,
  type ClientCaseResult,
} from './client-bench';
import { PostgresCpuProbe } from './cpu';
import { prepareBenchDatabase } from './database';
import type { Operation } from './load';
import { describeEnvironment, fmt, RESULTS_DIR, type Environment } from './report';

const quick = process.env.BENCH_QUICK === '1';
const SCRATCH = process.env.BENCH_CITUS_DATABASE?.trim() || 'tenancy_bench_citus';
const WORKSPACES = 20;
const ITEMS_PER_WORKSPACE = 50;
const POOL_MAX = 10;
const CONCURRENCIES = [10, 1];

const MAIN: ClientBenchSettings = {
  concurrencies: CONCURRENCIES,
  rounds: () => (quick ? 1 : 3),
  durationMs: () => (quick ? 800 : 4000),
  warmupMs: (_c, round) => (quick ? 200 : round === 1 ? 500 : 250),
};

const PROFILE: ClientBenchSettings = {
  concurrencies: CONCURRENCIES,
  rounds: () => 1,
  durationMs: () => (quick ? 500 : 1200),
  warmupMs: () => (quick ? 150 : 250),
};

/** Columns Prisma reads for an ApprovalItem, so that node-postgres reads the same. */
const COLUMNS =
  'id, workspace_id, project_id, ai_provider_config_id, title, description, payload, status, confidence, ' +
  'created_by_id, decided_by_id, decided_at, due_at, created_at, updated_at';

const started = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

type ServerName = 'citus' | 'postgres';

interface Seeded {
  id: string;
  itemIds: string[];
}

/** One server's connection URLs. */
interface ServerUrls {
  name: ServerName;
  /** Superuser owner (plain baseline, node-postgres profiles). */
  ownerUrl: string;
  runtimeUrl: string;
  adminUrl: string;
}

/** Seeds `WORKSPACES` × `ITEMS_PER_WORKSPACE` through an app_admin Prisma client. */
async function seed(adminUrl: string): Promise<Seeded[]> {
  const admin = new PrismaClient({ adapter: new PrismaPg({ connectionString: adminUrl, max: 4 }) });
  try {
    const seeded: Seeded[] = [];
    for (let w = 0; w < WORKSPACES; w++) {
      const workspace = await admin.workspace.create({
        data: { name: `Citus bench ${w}`, slug: `citus-bench-${w}` },
        select: { id: true },
      });
      const statuses = ['PENDING', 'PENDING', 'APPROVED', 'APPROVED', 'REJECTED'] as const;
      const items = await admin.approvalItem.createManyAndReturn({
        data: Array.from({ length: ITEMS_PER_WORKSPACE }, (_, n) => ({
          workspaceId: workspace.id,
          title: `Item ${n + 1}`,
          description: `Seeded approval item number ${n + 1}`,
          payload: { action: 'review', n: n + 1 },
          status: statuses[(n + 1) % 5],
          confidence: ((n + 1) % 100) / 100,
        })),
        select: { id: true },
      });
      seeded.push({ id: workspace.id, itemIds: items.map((i) => i.id) });
    }
    await admin.$executeRawUnsafe('ANALYZE workspaces');
    await admin.$executeRawUnsafe('ANALYZE approval_items');
    return seeded;
  } finally {
    await admin.$disconnect();
  }
}

/**
 * Caller `caller`'s `iteration`-th target. Not spread: every caller in the first workspace (as
 * `npm run bench`'s main PK case: the request path, one tenant per burst, so Prisma may batch the
 * concurrent lookups into one statement). Spread: callers and calls over all the workspaces, so
 * over the shards (plain Prisma still batches them, into one multi-workspace statement; the tenant
 * client cannot, one tenant per statement).
 */
function target(
  seeded: Seeded[],
  caller: number,
  iteration: number,
  spread = false,
): { ws: string; id: string } {
  const w = spread ? seeded[(caller * 7 + iteration) % seeded.length] : seeded[0];
  return { ws: w.id, id: w.itemIds[(caller * 101 + iteration * 37) % w.itemIds.length] };
}

function found<T>(row: T | null | undefined): T {
  if (row === null || row === undefined) throw new Error('row not found');
  return row;
}

/** The clients of one server. */
class ServerClients {
  readonly plain: PrismaClient;
  readonly admin: PrismaClient;
  readonly tenantBase: PrismaClient;
  readonly tenant: TenantPrismaClient;
  readonly pool: pg.Pool;
  /** Layer 2 alone: an unextended PrismaClient over the tenant adapter. */
  readonly layer2: PrismaClient;

  constructor(readonly urls: ServerUrls) {
    this.plain = new PrismaClient({
      adapter: new PrismaPg({ connectionString: urls.ownerUrl, max: POOL_MAX }),
    });
    this.admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: urls.adminUrl, max: POOL_MAX }),
    });
    this.tenantBase = new PrismaClient({
      adapter: createTenantAdapter(urls.runtimeUrl, { max: POOL_MAX }),
    });
    this.tenant = createTenantPrismaClient(this.tenantBase);
    this.pool = new pg.Pool({ connectionString: urls.ownerUrl, max: POOL_MAX });
    this.layer2 = new PrismaClient({
      adapter: createTenantAdapter(urls.runtimeUrl, { max: POOL_MAX }),
    });
  }

  async connect(): Promise<void> {
    await Promise.all(
      [this.plain, this.admin, this.tenantBase, this.layer2].map((c) => c.$connect()),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.plain, this.admin, this.tenantBase, this.layer2].map((c) => c.$disconnect()),
    );
    await this.pool.end();
  }
}

/** The main and profile cases of one server. */
function buildCases(
  clients: ServerClients,
  seeded: Seeded[],
): { main: ClientCase[]; profile: ClientCase[] } {
  const server = clients.urls.name;
  const { plain, admin, tenant, layer2, pool } = clients;
  const main: ClientCase[] = [];
  const profile: ClientCase[] = [];
  // Simple protocol (no parameters): one round trip for the whole text, as the tenant pool's
  // pipeline is one round trip for BEGIN, SET LOCAL, the query and COMMIT. (The claim's SET LOCAL is
  // not in these texts: on Citus, a multi-statement simple query with `SET LOCAL` propagated
  // (`citus.propagate_set_commands = 'local'`) fails with "cannot execute a distributed query from
  // a query on a shard"; the layer2 case measures the tenant pool's own pipeline instead.)
  const select = (ws: string, id: string) =>
    `SELECT ${COLUMNS} FROM approval_items WHERE workspace_id = '${ws}' AND id = '${id}'`;
  type Result = pg.QueryResult<Record<string, unknown>>;
  const lastRow = (result: Result | Result[]): Record<string, unknown> => {
    const results = Array.isArray(result) ? result : [result];
    return found(results.find((r) => r.command === 'SELECT')?.rows[0]);
  };
  for (const c of CONCURRENCIES) {
    const add = (list: ClientCase[], path: string, label: string, op: Operation) =>
      list.push({
        key: `pk/${server}:${path}/c${c}`,
        group: 'pk',
        path: `${server}:${path}`,
        label,
        concurrency: c,
        main: list === main,
        op,
      });
    add(main, 'plain', 'plain Prisma findUnique({ workspaceId_id }), owner', async (i, n) => {
      const { ws, id } = target(seeded, i, n);
      return found(
        await plain.approvalItem.findUnique({ where: { workspaceId_id: { workspaceId: ws, id } } }),
      );
    });
    add(
      main,
      'tenant',
      'tenant client runInTenant(ws, findUnique({ id })), app_runtime',
      (i, n) => {
        const { ws, id } = target(seeded, i, n);
        return runInTenant(ws, async () =>
          found(await tenant.approvalItem.findUnique({ where: { id } })),
        );
      },
    );
    add(
      profile,
      'admin',
      'plain Prisma findUnique({ workspaceId_id }), app_admin',
      async (i, n) => {
        const { ws, id } = target(seeded, i, n);
        return found(
          await admin.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: ws, id } },
          }),
        );
      },
    );
    add(profile, 'pg', 'node-postgres SELECT, owner', async (i, n) => {
      const { ws, id } = target(seeded, i, n);
      return lastRow(await pool.query(select(ws, id)));
    });
    add(
      profile,
      'pg-tx',
      'node-postgres BEGIN; SELECT; COMMIT (one round trip), owner',
      async (i, n) => {
        const { ws, id } = target(seeded, i, n);
        return lastRow(
          (await pool.query(`BEGIN; ${select(ws, id)}; COMMIT`)) as unknown as Result[],
        );
      },
    );
    add(
      profile,
      'layer2',
      'unextended Prisma over the tenant adapter, runInTenant(ws, findUnique({ workspaceId_id })), app_runtime',
      (i, n) => {
        const { ws, id } = target(seeded, i, n);
        return runInTenant(ws, async () =>
          found(
            await layer2.approvalItem.findUnique({
              where: { workspaceId_id: { workspaceId: ws, id } },
            }),
          ),
        );
      },
    );
    add(
      profile,
      'plain-spread',
      'plain Prisma findUnique({ workspaceId_id }), owner, callers over 20 workspaces',
      async (i, n) => {
        const { ws, id } = target(seeded, i, n, true);
        return found(
          await plain.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: ws, id } },
          }),
        );
      },
    );
    add(
      profile,
      'tenant-spread',
      'tenant client runInTenant(ws, findUnique({ id })), app_runtime, callers over 20 workspaces',
      (i, n) => {
        const { ws, id } = target(seeded, i, n, true);
        return runInTenant(ws, async () =>
          found(await tenant.approvalItem.findUnique({ where: { id } })),
        );
      },
    );
  }
  return { main, profile };
}

/**
 * CPU of the PostgreSQL backends of every server involved (the scratch database on PostgreSQL, the
 * cluster's database on the coordinator and on each worker); the idle pools of the server not
 * being measured add next to nothing. Same shape as PostgresCpuProbe, which runLoad takes.
 */
class CombinedProbe {
  constructor(private readonly probes: PostgresCpuProbe[]) {}

  async sample(): Promise<Map<number, number>> {
    const merged = new Map<number, number>();
    for (const probe of this.probes) {
      for (const [pid, ms] of await probe.sample()) merged.set(pid, ms);
    }
    return merged;
  }

  async close(): Promise<void> {
    await Promise.all(this.probes.map((p) => p.close()));
  }
}

/** What the report needs of one (server, path, concurrency). */
interface Row {
  server: ServerName;
  path: string;
  label: string;
  concurrency: number;
  main: boolean;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number | undefined;
  runs: number;
  loadAverages: number[];
}

function toRow(r: ClientCaseResult): Row {
  const [server, path] = r.path.split(':') as [ServerName, string];
  const sorted = [...r.runs].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
  const middle = sorted[sorted.length >> 1];
  return {
    server,
    path,
    label: r.label,
    concurrency: r.concurrency,
    main: r.main,
    opsPerSecond: r.opsPerSecond,
    p50Ms: middle.p50Ms,
    p99Ms: middle.p99Ms,
    clientCpuUsPerOp: r.clientCpuUsPerOp,
    serverCpuUsPerOp: r.serverCpuUsPerOp,
    runs: r.runs.length,
    loadAverages: r.runs.map((run) => run.loadAverage),
  };
}

interface CitusResults {
  date: string;
  durationSeconds: number;
  quick: boolean;
  environment: Environment & { citus: string; loadAverageAtStart: number[]; postgresHost: string };
  settings: {
    workspaces: number;
    itemsPerWorkspace: number;
    poolMax: number;
    main: { rounds: number; durationMs: number };
    profile: { rounds: number; durationMs: number };
  };
  rows: Row[];
}

function document(results: CitusResults): string {
  const get = (server: ServerName, path: string, c: number) =>
    results.rows.find((r) => r.server === server && r.path === path && r.concurrency === c);
  const ratio = (a: Row | undefined, b: Row | undefined) =>
    a && b ? `${fmt(a.opsPerSecond / b.opsPerSecond, 2)}×` : '–';
  const env = results.environment;
  const lines: string[] = [];
  lines.push('# Tenant PK lookup on Citus beside plain PostgreSQL');
  lines.push('');
  lines.push(
    `Generated by \`npm run bench:citus\` (bench/citus-bench.ts) on ${results.date.slice(0, 10)}` +
      `${results.quick ? ' with BENCH_QUICK=1 (short windows: indicative only)' : ''}; ` +
      `raw results in bench/results/citus.json (git-ignored).`,
  );
  lines.push('');
  lines.push('## Summary');
  lines.push('');
  lines.push(
    '| Server | Callers | Plain Prisma ops/s | Tenant ops/s | Tenant / plain | p50 plain / tenant, ms | App CPU µs/op plain / tenant | Server CPU µs/op plain / tenant |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const server of ['postgres', 'citus'] as const) {
    for (const c of CONCURRENCIES) {
      const plain = get(server, 'plain', c);
      const tenant = get(server, 'tenant', c);
      lines.push(
        `| ${server === 'citus' ? 'Citus (3 nodes)' : 'PostgreSQL'} | ${c} | ${fmt(plain?.opsPerSecond)} | ` +
          `${fmt(tenant?.opsPerSecond)} | ${ratio(tenant, plain)} | ${fmt(plain?.p50Ms, 2)} / ${fmt(tenant?.p50Ms, 2)} | ` +
          `${fmt(plain?.clientCpuUsPerOp)} / ${fmt(tenant?.clientCpuUsPerOp)} | ` +
          `${fmt(plain?.serverCpuUsPerOp)} / ${fmt(tenant?.serverCpuUsPerOp)} |`,
      );
    }
  }
  lines.push('');
  lines.push('Citus / PostgreSQL, ops/s:');
  lines.push('');
  lines.push('| Callers | Plain Prisma | Tenant client |');
  lines.push('|--:|--:|--:|');
  for (const c of CONCURRENCIES) {
    lines.push(
      `| ${c} | ${ratio(get('citus', 'plain', c), get('postgres', 'plain', c))} | ` +
        `${ratio(get('citus', 'tenant', c), get('postgres', 'tenant', c))} |`,
    );
  }
  lines.push('');
  lines.push('## Where the Citus cost goes (profile cases, one window each)');
  lines.push('');
  lines.push(
    "The same lookup through node-postgres (simple protocol, one round trip per call, as the owner), alone and in a `BEGIN; …; COMMIT` block (the block the tenant pool opens on Citus, without the claim and RLS); plain Prisma as app_admin (RLS with the policy `USING (true)`); layer 2 alone (an unextended PrismaClient over the tenant adapter, `findUnique({ workspaceId_id })` in `runInTenant`: the pipelined claim, on Citus `BEGIN; SET LOCAL …; query; COMMIT`, and the policy's signature check, without the query extension); the two main paths; and the two main paths with the callers spread over all workspaces (so over the shards; plain Prisma still batches the concurrent lookups into one statement, the tenant client sends one per tenant). Server CPU counts every backend of the database on every node.",
  );
  lines.push('');
  lines.push(
    '| Path | Callers | PostgreSQL ops/s | Citus ops/s | Citus / PostgreSQL | p50 PG / Citus, ms | Server CPU µs/op PG / Citus |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|--:|');
  const paths = [
    'pg',
    'pg-tx',
    'admin',
    'layer2',
    'plain',
    'tenant',
    'plain-spread',
    'tenant-spread',
  ];
  for (const c of CONCURRENCIES) {
    for (const path of paths) {
      const p = get('postgres', path, c);
      const ci = get('citus', path, c);
      lines.push(
        `| ${ci?.label ?? p?.label ?? path} | ${c} | ${fmt(p?.opsPerSecond)} | ${fmt(ci?.opsPerSecond)} | ` +
          `${ratio(ci, p)} | ${fmt(p?.p50Ms, 2)} / ${fmt(ci?.p50Ms, 2)} | ` +
          `${fmt(p?.serverCpuUsPerOp)} / ${fmt(ci?.serverCpuUsPerOp)} |`,
      );
    }
  }
  lines.push('');
  lines.push('## Environment');
  lines.push('');
  const load = results.rows.flatMap((r) => r.loadAverages);
  lines.push(
    `- ${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB; load average at start ` +
      `${env.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min), ` +
      `1-min load during the windows ${fmt(Math.min(...load), 1)}–${fmt(Math.max(...load), 1)}. ` +
      'The machine is shared: throughput moves with other work, CPU per operation much less.',
  );
  lines.push(
    `- Node ${env.node}; prisma ${env.packages.prisma}, @prisma/client ${env.packages['@prisma/client']}, ` +
      `@prisma/adapter-pg ${env.packages['@prisma/adapter-pg']}, pg ${env.packages.pg}.`,
  );
  lines.push(
    `- PostgreSQL ${env.postgres} (${env.postgresHost}); Citus ${env.citus} on PostgreSQL 15: ` +
      'a coordinator and 2 workers on this machine, loopback, fsync off (scripts/citus/citus-cluster.ts).',
  );
  lines.push(
    `- ${results.settings.workspaces} workspaces × ${results.settings.itemsPerWorkspace} approval items; ` +
      `pools of ${results.settings.poolMax}; main cases ${results.settings.main.rounds} interleaved rounds of ` +
      `${results.settings.main.durationMs / 1000} s (median), profile cases ${results.settings.profile.rounds} ` +
      `window of ${results.settings.profile.durationMs / 1000} s; run took ${fmt(results.durationSeconds)} s.`,
  );
  lines.push('');
  lines.push('## How to run, what it measures');
  lines.push('');
  lines.push(
    "`npm run bench:citus` (as root: the cluster's servers run as `postgres`; Citus is installed from " +
      '../shared/citus when missing; `BENCH_QUICK=1` for short windows). It starts a throw-away Citus ' +
      'cluster, applies the migrations and prisma/citus/distribute.sql, creates a scratch database on the ' +
      'local PostgreSQL (DIRECT_URL, default 127.0.0.1:5432), seeds both with the same rows through ' +
      'app_admin, and measures a closed loop of 1 and 10 callers in one process (bench/load.ts), every ' +
      'caller in one workspace as in `npm run bench` (the request path: one tenant per burst, ' +
      'where Prisma may batch concurrent `findUnique`s into one statement; the spread profile rows put the ' +
      'callers over all workspaces, so over the shards). Plain Prisma is `findUnique({ where: { workspaceId_id } })` ' +
      'over the owner (a superuser: no RLS), the baseline of `npm run bench`; the tenant client is ' +
      '`runInTenant(ws, () => findUnique({ where: { id } }))` as app_runtime with settingMode `auto` ' +
      '(PostgreSQL: `set_config` pipelined before the query; Citus: `BEGIN; SET LOCAL …; query; COMMIT` ' +
      "pipelined, the claim propagated to the worker, RLS verifying it there). App CPU is this process's " +
      'CPU per operation; server CPU sums the backends on every node. The cluster is removed and the ' +
      'scratch database dropped at the end.',
  );
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  let cluster: CitusCluster | undefined;
  let scratchServer: string | undefined;
  const cleanup = async () => {
    await cluster?.stop().catch((e: Error) => log(`stopping the cluster: ${e.message}`));
    cluster = undefined;
    if (scratchServer) {
      const client = new pg.Client({ connectionString: withDatabase(scratchServer, 'postgres') });
      await client
        .connect()
        .then(() =>
          client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(SCRATCH)} WITH (FORCE)`),
        )
        .catch((e: Error) => log(`dropping ${SCRATCH}: ${e.message}`))
        .finally(() => client.end());
      scratchServer = undefined;
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const opened: ServerClients[] = [];
  let probe: CombinedProbe | undefined;
  try {
    // PostgreSQL first: its scratch database is made the way `npm run bench` makes its own.
    const db = await prepareBenchDatabase(
      {
        database: SCRATCH,
        workspaces: 0,
        itemsPerWorkspace: 0,
        membersPerWorkspace: 0,
        updateItemsPerWorkspace: 0,
      },
      log,
    );
    if (db.embedded) throw new Error('no PostgreSQL server answered: the comparison needs one');
    if (!db.ownerIsSuperuser) throw new Error('the PostgreSQL owner must be a superuser');
    scratchServer = db.ownerUrl;

    cluster = await startCitusCluster({ log });
    const citusUrls = await prepareCitusDatabase(cluster, { log });
    const owner = new pg.Client({ connectionString: citusUrls.directUrl });
    await owner.connect();
    let citusVersion: string;
    try {
      const { rows } = await owner.query<{ v: string }>(
        `SELECT extversion AS v FROM pg_extension WHERE extname = 'citus'`,
      );
      citusVersion = rows[0]?.v ?? 'unknown';
    } finally {
      await owner.end();
    }

    const servers: ServerUrls[] = [
      { name: 'postgres', ownerUrl: db.ownerUrl, runtimeUrl: db.runtimeUrl, adminUrl: db.adminUrl },
      {
        name: 'citus',
        ownerUrl: citusUrls.directUrl,
        runtimeUrl: citusUrls.databaseUrl,
        adminUrl: citusUrls.systemDatabaseUrl,
      },
    ];
    const main: ClientCase[] = [];
    const profile: ClientCase[] = [];
    for (const urls of servers) {
      const before = Date.now();
      const seeded = await seed(urls.adminUrl);
      log(
        `${urls.name}: seeded ${WORKSPACES} × ${ITEMS_PER_WORKSPACE} in ${Date.now() - before} ms`,
      );
      const clients = new ServerClients(urls);
      opened.push(clients);
      await clients.connect();
      const cases = buildCases(clients, seeded);
      main.push(...cases.main);
      profile.push(...cases.profile);
    }

    const probes: PostgresCpuProbe[] = [];
    for (const url of [
      db.ownerUrl,
      ...[cluster.coordinator, ...cluster.workers].map((n) =>
        cluster!.urlFor(cluster!.database, 'postgres', undefined, n.port),
      ),
    ]) {
      const p = await PostgresCpuProbe.open(url, new URL(url).pathname.slice(1));
      if (p) probes.push(p);
    }
    probe = new CombinedProbe(probes);
    const cpuProbe = probes.length === 4 ? (probe as unknown as PostgresCpuProbe) : undefined;
    if (!cpuProbe) log('note: not every server process is visible; no server CPU figures');

    // Warm-up: every case once, unmeasured (Prisma's engine and the JIT run cold at first).
    await runClientBench(
      [...main, ...profile].filter((c) => c.concurrency === 10),
      {
        concurrencies: [10],
        rounds: () => 1,
        durationMs: () => 0,
        warmupMs: () => (quick ? 150 : 400),
      },
      undefined,
      () => undefined,
    );
    log('warmed up; main cases (interleaved across both servers)');
    const mainResults = await runClientBench(main, MAIN, cpuProbe, log);
    log('profile cases');
    const profileResults = await runClientBench(profile, PROFILE, cpuProbe, log);
    for (const r of [...mainResults, ...profileResults]) {
      const failed = r.runs.reduce((sum, run) => sum + run.errors, 0);
      if (failed > 0)
        throw new Error(
          `${r.key}: ${failed} errors (${r.runs.find((x) => x.firstError)?.firstError})`,
        );
    }

    const environment = await describeEnvironment(db.serverVersion);
    const results: CitusResults = {
      date: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      quick,
      environment: {
        ...environment,
        citus: citusVersion,
        loadAverageAtStart: loadAtStart,
        postgresHost: new URL(db.ownerUrl).host,
      },
      settings: {
        workspaces: WORKSPACES,
        itemsPerWorkspace: ITEMS_PER_WORKSPACE,
        poolMax: POOL_MAX,
        main: { rounds: MAIN.rounds(1), durationMs: MAIN.durationMs(1) },
        profile: { rounds: PROFILE.rounds(1), durationMs: PROFILE.durationMs(1) },
      },
      rows: [...mainResults, ...profileResults].map(toRow),
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    const json = resolve(RESULTS_DIR, 'citus.json');
    await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
    const markdown = document(results);
    console.log(`\n${markdown}`);
    if (process.env.BENCH_NO_DOCUMENT !== '1') {
      // Formatted as `npm run format` would, so format:check passes.
      const file = resolve(PROJECT_ROOT, 'bench', 'CITUS-RESULTS.md');
      const options = (await resolveConfig(file)) ?? {};
      await writeFile(file, await format(markdown, { ...options, filepath: file }));
      log(`wrote bench/CITUS-RESULTS.md and ${json}`);
    }
  } finally {
    await probe?.close().catch(() => undefined);
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
    await cleanup();
    log('cluster removed, scratch database dropped');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
