import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { citusEnv } from './citus-env';

/**
 * Growing on Citus (npm run test:citus): a large tenant is moved to its own shard group with
 * `isolate_tenant_to_new_shard` while tenant requests keep running through the tenant client
 * (`settingMode: 'auto'` picks `'set_local'` on Citus). No request fails and none sees another tenant's row.
 */
describe('isolate_tenant_to_new_shard under load', () => {
  const large = randomUUID();
  const small = [randomUUID(), randomUUID()];
  const tenants = [large, ...small];
  const itemsOf: Record<string, string[]> = Object.fromEntries(tenants.map((t) => [t, []]));
  let admin: PrismaClient;
  let base: PrismaClient;
  let tenant: TenantPrismaClient;
  let owner: pg.Client;

  beforeAll(async () => {
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: citusEnv('SYSTEM_DATABASE_URL') }),
    });
    await admin.workspace.createMany({
      data: tenants.map((id, i) => ({ id, name: `t${i}`, slug: `iso-${id}` })),
    });
    for (const ws of tenants) {
      const count = ws === large ? 300 : 20;
      const data = Array.from({ length: count }, (_, i) => ({
        id: randomUUID(),
        workspaceId: ws,
        title: `item ${i}`,
      }));
      itemsOf[ws].push(...data.map((d) => d.id));
      await admin.approvalItem.createMany({ data });
    }
    base = new PrismaClient({
      adapter: createTenantAdapter(citusEnv('DATABASE_URL'), { max: 6 }),
    });
    tenant = createTenantPrismaClient(base);
    owner = new pg.Client({ connectionString: citusEnv('DIRECT_URL') });
    await owner.connect();
  });

  afterAll(async () => {
    await admin?.workspace.deleteMany({ where: { id: { in: tenants } } });
    await Promise.allSettled([admin?.$disconnect(), base?.$disconnect(), owner?.end()]);
  });

  /** The shard of `table` that holds `workspaceId`, and its hash range. */
  async function shardOf(workspaceId: string, table = 'approval_items') {
    const { rows } = await owner.query<{ shardid: string; min: string; max: string }>(
      `SELECT s.shardid::text, s.shardminvalue AS min, s.shardmaxvalue AS max
         FROM pg_dist_shard s
        WHERE s.shardid = get_shard_id_for_distribution_column($2::regclass, $1::uuid)`,
      [workspaceId, table],
    );
    return rows[0];
  }

  it('moves the large tenant to its own shard while requests of every tenant keep their rows', async () => {
    const before = await shardOf(large);
    const errors: string[] = [];
    let retried = 0;
    // A write that meets the move's locks may be chosen as a deadlock victim by Citus' distributed
    // deadlock detection: Prisma's P2034 ("retry your transaction"), which an app retries.
    const retryingConflicts = async <T>(write: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await write();
        } catch (error) {
          if ((error as { code?: string }).code !== 'P2034' || attempt === 3) throw error;
          retried += 1;
        }
      }
    };
    const foreign: string[] = [];
    let requests = 0;
    let done = false;

    const worker = async (n: number) => {
      for (let i = 0; !done; i++) {
        const ws = tenants[(n + i) % tenants.length];
        try {
          await runInTenant(ws, async () => {
            const rows = await tenant.approvalItem.findMany({
              select: { id: true, workspaceId: true },
            });
            for (const row of rows) if (row.workspaceId !== ws) foreign.push(`${ws}: ${row.id}`);
            const mine = itemsOf[ws];
            const own = await tenant.approvalItem.findUnique({
              where: { id: mine[i % mine.length] },
              select: { workspaceId: true },
            });
            if (own?.workspaceId !== ws)
              errors.push(`${ws}: own row read as ${JSON.stringify(own)}`);
            const other = itemsOf[tenants[(tenants.indexOf(ws) + 1) % tenants.length]][0];
            const theirs = await tenant.approvalItem.findUnique({ where: { id: other } });
            if (theirs !== null) foreign.push(`${ws}: read ${other} by id`);
            const created = await retryingConflicts(() =>
              tenant.approvalItem.create({
                data: { title: `during isolation ${n}/${i}` },
                select: { id: true, workspaceId: true },
              }),
            );
            if (created.workspaceId !== ws)
              foreign.push(`${ws}: created in ${created.workspaceId}`);
            await retryingConflicts(() =>
              tenant.approvalItem.delete({ where: { id: created.id } }),
            );
          });
          requests += 1;
        } catch (error) {
          errors.push(`${ws}: ${(error as Error).message.split('\n').pop()}`);
        }
      }
    };

    const workers = Array.from({ length: 4 }, (_, n) => worker(n));
    let isolated: pg.QueryResult<{ shard: string }>;
    try {
      // Let the load start, isolate, and keep the load running a little after the move. A stuck
      // isolation fails the test instead of hanging it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await owner.query(`SET statement_timeout = '40s'`);
      isolated = await owner.query<{ shard: string }>(
        `SELECT isolate_tenant_to_new_shard('workspaces', $1::uuid, 'CASCADE',
                  shard_transfer_mode => 'block_writes')::text AS shard`,
        [large],
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      done = true;
      await Promise.all(workers);
    }

    console.info(`${requests} requests during the move; ${retried} writes retried after P2034`);
    const after = await shardOf(large);
    // The function answers the new shard of the table it was given; CASCADE moved the co-located ones.
    expect((await shardOf(large, 'workspaces')).shardid).toBe(isolated.rows[0].shard);
    expect(after.shardid).not.toBe(before.shardid);
    // A shard of its own: its hash range is the one value of the tenant.
    expect(after.min).toBe(after.max);
    for (const other of small) expect((await shardOf(other)).shardid).not.toBe(after.shardid);
    expect({ errors, foreign }).toEqual({ errors: [], foreign: [] });
    expect(requests).toBeGreaterThan(0);
    // Every row of the large tenant is still there, and still only its own.
    await expect(runInTenant(large, () => tenant.approvalItem.count())).resolves.toBe(
      itemsOf[large].length,
    );
  });
});
