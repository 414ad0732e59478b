import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import pg from 'pg';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  TenantSettingSigner,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { citusEnv } from './citus-env';

/**
 * The tenant client on a 3-node Citus cluster (npm run test:citus): layer 2's setting reaches the
 * workers only in `settingMode: 'set_local'` (what `'auto'` picks here), and a tenant's lookups are single-shard router
 * queries.
 */
/** A lookup by id, as users write it: layer 1 maps it to the (workspaceId, id) key. */
function byId(id: string): Prisma.ApprovalItemWhereUniqueInput {
  return { id } as unknown as Prisma.ApprovalItemWhereUniqueInput;
}

describe('the tenant client on Citus (coordinator + 2 workers)', () => {
  const A = randomUUID();
  const B = randomUUID();
  const itemsOf: Record<string, string[]> = { [A]: [], [B]: [] };
  let admin: PrismaClient;
  let baseLocal: PrismaClient;
  let baseConfig: PrismaClient;
  let local: TenantPrismaClient;
  let viaSetConfig: PrismaClient;
  const statements: { query: string; params: string }[] = [];

  beforeAll(async () => {
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: citusEnv('SYSTEM_DATABASE_URL') }),
    });
    await admin.workspace.createMany({
      data: [
        { id: A, name: 'A', slug: `a-${A}` },
        { id: B, name: 'B', slug: `b-${B}` },
      ],
    });
    for (const ws of [A, B]) {
      for (let i = 0; i < 6; i++) {
        const id = randomUUID();
        itemsOf[ws].push(id);
        await admin.approvalItem.create({ data: { id, workspaceId: ws, title: `item ${i}` } });
      }
    }
    baseLocal = new PrismaClient({
      // settingMode 'auto' (the default) finds the citus extension and sends SET LOCAL.
      adapter: createTenantAdapter(citusEnv('DATABASE_URL'), { max: 4 }),
      log: [{ emit: 'event', level: 'query' }],
    });
    baseLocal.$on('query' as never, (event: Prisma.QueryEvent) => {
      statements.push({ query: event.query, params: event.params });
    });
    local = createTenantPrismaClient(baseLocal);
    baseConfig = new PrismaClient({
      adapter: createTenantAdapter(citusEnv('DATABASE_URL'), { max: 2, settingMode: 'set_config' }),
    });
    viaSetConfig = createTenantPrismaClient(baseConfig);
  });

  afterAll(async () => {
    await admin?.workspace.deleteMany({ where: { id: { in: [A, B] } } });
    await Promise.allSettled([
      admin?.$disconnect(),
      baseLocal?.$disconnect(),
      baseConfig?.$disconnect(),
    ]);
  });

  it('set_config (the PostgreSQL mode) does not reach the workers: the tenant sees none of its rows', async () => {
    await expect(runInTenant(A, () => viaSetConfig.approvalItem.count())).resolves.toBe(0);
  });

  it('auto (set_local on Citus): tenant A sees exactly its rows across the shards, none of B', async () => {
    const rows = await runInTenant(A, () =>
      local.approvalItem.findMany({ select: { id: true, workspaceId: true } }),
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...itemsOf[A]].sort());
    expect(new Set(rows.map((r) => r.workspaceId))).toEqual(new Set([A]));
    await expect(runInTenant(B, () => local.approvalItem.count())).resolves.toBe(6);
  });

  it('findUnique({ where: { id } }) finds its own row and reads another tenant id as not found', async () => {
    const own = await runInTenant(A, () =>
      local.approvalItem.findUnique({ where: byId(itemsOf[A][0]), select: { id: true } }),
    );
    expect(own).toEqual({ id: itemsOf[A][0] });
    await expect(
      runInTenant(A, () => local.approvalItem.findUnique({ where: byId(itemsOf[B][0]) })),
    ).resolves.toBeNull();
  });

  it('creates land in the tenant; the workers refuse a raw row for another tenant', async () => {
    const created = await runInTenant(A, () =>
      local.approvalItem.create({
        data: { title: 'new' },
        select: { id: true, workspaceId: true },
      }),
    );
    expect(created.workspaceId).toBe(A);
    await expect(
      runInTenant(
        A,
        () =>
          baseLocal.$executeRaw`INSERT INTO approval_items (workspace_id, title) VALUES (${B}::uuid, 'evil')`,
      ),
    ).rejects.toThrow(/row-level security/);
    // The failed statement's transaction was rolled back: the pool still serves the tenant.
    await expect(runInTenant(A, () => local.approvalItem.count())).resolves.toBe(7);
  });

  it('an interactive transaction carries the setting to the workers', async () => {
    const [count, first] = await runInTenant(A, () =>
      local.$transaction(async (tx) => [
        await tx.approvalItem.count(),
        await tx.approvalItem.findUnique({ where: byId(itemsOf[A][1]), select: { id: true } }),
      ]),
    );
    expect(count).toBe(7);
    expect(first).toEqual({ id: itemsOf[A][1] });
  });

  it("keeps the claim's SET LOCAL text out of the runtime role's reach: no activity view on any node", async () => {
    const runtime = new pg.Client({ connectionString: citusEnv('DATABASE_URL') });
    await runtime.connect();
    const refused = async (sql: string) => {
      const error = await runtime.query(sql).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      return error?.code;
    };
    try {
      expect({
        pgStatActivity: await refused('SELECT query FROM pg_stat_activity'),
        function: await refused('SELECT query FROM pg_stat_get_activity(NULL)'),
        citusStatActivity: await refused('SELECT query FROM citus_stat_activity'),
        citusDistStatActivity: await refused('SELECT query FROM citus_dist_stat_activity'),
      }).toEqual({
        pgStatActivity: '42501',
        function: '42501',
        citusStatActivity: '42501',
        citusDistStatActivity: '42501',
      });
      // On the workers, through Citus' own remote command (the text Citus replays lands there).
      const { rows } = await runtime.query<{ success: boolean; result: string }>(
        `SELECT success, result FROM run_command_on_workers('SELECT count(query) FROM pg_stat_activity')`,
      );
      expect(rows.map((r) => [r.success, /permission denied/.test(r.result)])).toEqual([
        [false, true],
        [false, true],
      ]);
    } finally {
      await runtime.end();
    }
  });

  /** EXPLAIN of a statement the tenant client sent, run as app_runtime with A's setting. */
  async function explainAll(
    captured: { query: string; params: string }[],
  ): Promise<{ query: string; plan: string }[]> {
    const runtime = new pg.Client({ connectionString: citusEnv('DATABASE_URL') });
    await runtime.connect();
    const signed = new TenantSettingSigner(citusEnv('TENANT_SETTING_SECRET')).sign(A, undefined);
    try {
      const plans: { query: string; plan: string }[] = [];
      for (const { query, params } of captured) {
        if (!/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(query)) continue;
        await runtime.query('BEGIN');
        try {
          await runtime.query(`SET LOCAL app.workspace_id = '${signed}'`);
          const { rows } = await runtime.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN ${query}`,
            JSON.parse(params) as unknown[],
          );
          plans.push({ query, plan: rows.map((r) => r['QUERY PLAN']).join('\n') });
        } finally {
          await runtime.query('ROLLBACK');
        }
      }
      return plans;
    } finally {
      await runtime.end();
    }
  }

  it.each<[string, () => PromiseLike<unknown>]>([
    ['findUnique by id', () => local.approvalItem.findUnique({ where: byId(itemsOf[A][2]) })],
    [
      'findMany with a filter',
      () => local.approvalItem.findMany({ where: { status: 'PENDING' }, take: 5 }),
    ],
    [
      'findMany with an include',
      () => local.approvalItem.findMany({ include: { comments: true }, take: 5 }),
    ],
    [
      'findMany with a relation filter',
      () => local.approvalItem.findMany({ where: { comments: { some: { body: 'x' } } } }),
    ],
    ['count', () => local.approvalItem.count()],
    [
      'update by id',
      () => local.approvalItem.update({ where: byId(itemsOf[A][3]), data: { title: 'renamed' } }),
    ],
    [
      'create with a nested create',
      () =>
        local.approvalItem.create({
          data: { title: 'nested', comments: { create: [{ body: 'a' }, { body: 'b' }] } },
        }),
    ],
  ])('%s runs every statement on one shard (EXPLAIN: Task Count: 1)', async (_name, run) => {
    statements.length = 0;
    await runInTenant(A, async () => await run());
    const plans = await explainAll(statements);
    expect(plans.length).toBeGreaterThan(0);
    for (const { query, plan } of plans) {
      expect({ query, plan }).toEqual({ query, plan: expect.stringMatching(/Task Count: 1\b/) });
    }
  });

  it('reports the cost of a tenant lookup by id (set_local on Citus against no tenancy)', async () => {
    const rounds = 300;
    const plain = new PrismaClient({
      adapter: new PrismaPg({ connectionString: citusEnv('SYSTEM_DATABASE_URL'), max: 4 }),
    });
    try {
      const time = async (fn: (id: string) => Promise<unknown>): Promise<number> => {
        for (let i = 0; i < 20; i++) await fn(itemsOf[A][i % 6]);
        const start = process.hrtime.bigint();
        for (let i = 0; i < rounds; i++) await fn(itemsOf[A][i % 6]);
        return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
      };
      const tenant = await runInTenant(A, () =>
        time((id) => local.approvalItem.findUnique({ where: byId(id) })),
      );
      const untenanted = await time((id) =>
        plain.approvalItem.findUnique({ where: { workspaceId_id: { workspaceId: A, id } } }),
      );
      console.log(
        `Citus, sequential findUnique by id (${rounds} rounds): tenant client (set_local) ` +
          `${tenant.toFixed(2)} ms, plain PrismaPg as app_admin ${untenanted.toFixed(2)} ms`,
      );
      expect(tenant).toBeGreaterThan(0);
    } finally {
      await plain.$disconnect();
    }
  });
});
