import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  ConnectionStateError,
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  TenantBusyError,
  TenantSettingSigner,
  type TenantAdapterOptions,
} from 'nest-prisma-tenancy';
import { signedSetting, testSigner } from '../support/tenant-setting';

/**
 * Issue "hold under attack", items 3, 4 and 6 at the driver: SQL that runs as the runtime role (an
 * injected raw statement included) cannot forge the tenant, cannot leave state on a pooled
 * connection for the next request, and cannot hold connections for ever; one tenant cannot starve
 * another. Every client here is the real tenant client over the real runtime role.
 */
describe('raw SQL as the runtime role against both layers', () => {
  let admin: PrismaClient;
  const A = { id: randomUUID(), titles: ['a-1', 'a-2'] };
  const B = { id: randomUUID(), titles: ['b-secret-1', 'b-secret-2', 'b-secret-3'] };
  const clients: PrismaClient[] = [];

  /** A tenant client over its own pool (so tests can pin it to one connection). */
  function tenantClient(options: TenantAdapterOptions = {}) {
    const base = new PrismaClient({
      adapter: createTenantAdapter(process.env.DATABASE_URL!, options),
    });
    clients.push(base);
    return { base, db: createTenantPrismaClient(base) };
  }

  const titlesOf = (rows: { title: string }[]) => rows.map((r) => r.title).sort();

  beforeAll(async () => {
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }),
    });
    for (const ws of [A, B]) {
      await admin.workspace.create({ data: { id: ws.id, name: ws.id, slug: `raw-${ws.id}` } });
      await admin.approvalItem.createMany({
        data: ws.titles.map((title) => ({ workspaceId: ws.id, title })),
      });
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.$disconnect()));
    await admin.$disconnect();
  });

  describe('the tenant setting cannot be forged (item 3)', () => {
    it('one statement that sets a bare workspace id and reads in the same statement sees nothing of B', async () => {
      const { db } = tenantClient();
      const rows = await runInTenant(A.id, () =>
        db.$queryRawUnsafe<{ forged: string; titles: string[] | null }[]>(
          `SELECT (SELECT set_config('app.workspace_id', $1, true)) AS forged,
                  (SELECT json_agg(title) FROM approval_items) AS titles`,
          B.id,
        ),
      );
      expect(rows).toEqual([{ forged: B.id, titles: null }]);
    });

    it('a copy of A’s signed setting with B’s id in it is rejected', async () => {
      const { db } = tenantClient();
      const rows = await runInTenant(A.id, () =>
        db.$queryRawUnsafe<{ titles: string[] | null }[]>(
          `SELECT (SELECT set_config('app.workspace_id',
                     replace(current_setting('app.workspace_id'), $1, $2), true)) IS NOT NULL AS forged,
                  (SELECT json_agg(title) FROM approval_items) AS titles`,
          A.id,
          B.id,
        ),
      );
      expect(rows).toEqual([{ forged: true, titles: null }]);
    });

    it.each([
      ['a bare UUID', () => B.id],
      ['a signature with one digit changed', () => tamper(signedSetting(B.id))],
      ['a setting signed with another secret', () => otherSecret(B.id)],
      [
        'a setting issued 10 minutes ago',
        () => testSigner().sign(B.id, undefined, Date.now() - 600_000),
      ],
      [
        'a setting issued 10 minutes ahead',
        () => testSigner().sign(B.id, undefined, Date.now() + 600_000),
      ],
    ])('a plain connection as the runtime role with %s sees no B rows', async (_label, value) => {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.workspace_id', $1, true)`, [value()]);
        const { rows } = await client.query<{ n: number; ws: string | null }>(
          `SELECT count(*)::int AS n, public.current_workspace_id()::text AS ws FROM approval_items`,
        );
        expect(rows).toEqual([{ n: 0, ws: null }]);
        await client.query('ROLLBACK');
      } finally {
        await client.end();
      }
    });

    it('the library’s own signed setting for B does show B (the control)', async () => {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.workspace_id', $1, true)`, [
          signedSetting(B.id),
        ]);
        const { rows } = await client.query<{ title: string }>(`SELECT title FROM approval_items`);
        expect(titlesOf(rows)).toEqual([...B.titles].sort());
        await client.query('ROLLBACK');
      } finally {
        await client.end();
      }
    });

    it('stacked statements are refused outside and inside $transaction (exactly one statement)', async () => {
      const { db } = tenantClient();
      const stacked = `SELECT set_config('app.workspace_id', '${B.id}', false); SELECT 1`;
      await expect(runInTenant(A.id, () => db.$executeRawUnsafe(stacked))).rejects.toThrow(
        /cannot insert multiple commands into a prepared statement/,
      );
      await expect(
        runInTenant(A.id, () => db.$transaction(async (tx) => tx.$executeRawUnsafe(stacked))),
      ).rejects.toThrow(/cannot insert multiple commands into a prepared statement/);
      await expect(
        runInTenant(A.id, () => db.$transaction([db.$executeRawUnsafe(stacked)])),
      ).rejects.toThrow(/cannot insert multiple commands into a prepared statement/);
    });

    it('the signed setting never appears in pg_stat_activity’s query text', async () => {
      const { db } = tenantClient({ max: 1 });
      const texts = await runInTenant(A.id, () =>
        db.$transaction(async (tx) => {
          await tx.approvalItem.count();
          return tx.$queryRawUnsafe<{ query: string }[]>(
            `SELECT query FROM pg_stat_activity WHERE usename = current_user`,
          );
        }),
      );
      expect(texts.length).toBeGreaterThan(0);
      for (const { query } of texts) expect(query).not.toMatch(/v1\.[0-9a-f-]{36}/);
    });
  });

  describe('tenant rows cannot point at users the tenant cannot see (items 1 and 2)', () => {
    let userOfB: string;
    let userOfA: string;

    beforeAll(async () => {
      userOfA = (await admin.user.create({ data: { email: `a-${randomUUID()}@example.test` } })).id;
      userOfB = (await admin.user.create({ data: { email: `b-${randomUUID()}@example.test` } })).id;
      await admin.workspaceMember.create({ data: { workspaceId: A.id, userId: userOfA } });
      await admin.workspaceMember.create({ data: { workspaceId: B.id, userId: userOfB } });
    });

    it('raw SQL as A cannot reference B’s user (PostgreSQL checks foreign keys without RLS)', async () => {
      const { db } = tenantClient();
      await expect(
        runInTenant(A.id, () =>
          db.$executeRawUnsafe(
            `INSERT INTO approval_items (title, created_by_id) VALUES ('x', $1::uuid)`,
            userOfB,
          ),
        ),
      ).rejects.toThrow(/violates foreign key constraint on "created_by_id"/);
      await expect(
        runInTenant(A.id, () =>
          db.$executeRawUnsafe(
            `INSERT INTO workspace_members (user_id) VALUES ($1::uuid)`,
            userOfB,
          ),
        ),
      ).rejects.toThrow(/violates foreign key constraint on "user_id"/);
    });

    it('an UPDATE is checked only for the user references it changes', async () => {
      const { db } = tenantClient();
      // Set up by the system role, which sees every user: a row in A that names B's user.
      const item = await admin.approvalItem.create({
        data: { workspaceId: A.id, title: 'names B', createdById: userOfB },
        select: { id: true },
      });
      try {
        // Keeping that reference (and listing the column) is no new reference: allowed.
        await expect(
          runInTenant(A.id, () =>
            db.$executeRawUnsafe(
              `UPDATE approval_items SET title = 'kept', created_by_id = created_by_id WHERE id = $1::uuid`,
              item.id,
            ),
          ),
        ).resolves.toBe(1);
        await expect(
          admin.approvalItem.findUniqueOrThrow({
            where: { workspaceId_id: { workspaceId: A.id, id: item.id } },
            select: { title: true, createdById: true, decidedById: true },
          }),
        ).resolves.toEqual({ title: 'kept', createdById: userOfB, decidedById: null });
        // Pointing another column at B's user is refused.
        await expect(
          runInTenant(A.id, () =>
            db.$executeRawUnsafe(
              `UPDATE approval_items SET decided_by_id = $2::uuid WHERE id = $1::uuid`,
              item.id,
              userOfB,
            ),
          ),
        ).rejects.toThrow(/violates foreign key constraint on "decided_by_id"/);
      } finally {
        await admin.approvalItem.delete({
          where: { workspaceId_id: { workspaceId: A.id, id: item.id } },
        });
      }
    });

    it('a member of A can still be referenced from A, and the current user always', async () => {
      const { db } = tenantClient();
      const created = await runInTenant(
        A.id,
        () =>
          db.approvalItem.create({
            data: { title: 'by a member', createdById: userOfA },
            select: { id: true, createdById: true },
          }),
        { userId: userOfB },
      );
      await admin.approvalItem.delete({
        where: { workspaceId_id: { workspaceId: A.id, id: created.id } },
      });
      expect(created.createdById).toBe(userOfA);
    });

    it('raw SQL as A cannot delete or re-key B’s user, nor read B’s users', async () => {
      const { db } = tenantClient();
      const outcome = await runInTenant(A.id, () =>
        db.$queryRawUnsafe<{ deleted: number; visible: number }[]>(
          `WITH d AS (DELETE FROM users WHERE id = $1::uuid RETURNING 1)
           SELECT (SELECT count(*)::int FROM d) AS deleted,
                  (SELECT count(*)::int FROM users WHERE id = $1::uuid) AS visible`,
          userOfB,
        ),
      );
      expect(outcome).toEqual([{ deleted: 0, visible: 0 }]);
      await expect(
        runInTenant(A.id, () =>
          db.$executeRawUnsafe(
            `UPDATE users SET id = gen_random_uuid() WHERE id = $1::uuid`,
            userOfA,
          ),
        ),
      ).resolves.toBe(0);
      await expect(
        runInTenant(
          A.id,
          () =>
            db.$executeRawUnsafe(
              `UPDATE users SET id = gen_random_uuid() WHERE id = $1::uuid`,
              userOfA,
            ),
          { userId: userOfA },
        ),
      ).rejects.toThrow(/the key column users.id cannot be changed/);
      await expect(admin.user.count({ where: { id: { in: [userOfA, userOfB] } } })).resolves.toBe(
        2,
      );
    });
  });

  describe('no state survives on a pooled connection (item 4)', () => {
    it('the runtime role cannot create temporary tables (no shadowing of real tables)', async () => {
      const { db } = tenantClient();
      await expect(
        runInTenant(A.id, () =>
          db.$executeRawUnsafe(
            `CREATE TEMP TABLE workspace_members (workspace_id uuid, user_id uuid)`,
          ),
        ),
      ).rejects.toThrow(/permission denied to create temporary tables/);
    });

    it('a session-level setting left by raw SQL never reaches a later no-tenant query', async () => {
      const { base, db } = tenantClient({ max: 1 });
      await runInTenant(A.id, () =>
        db.$queryRawUnsafe(
          `SELECT set_config('app.workspace_id', current_setting('app.workspace_id'), false)`,
        ),
      );
      // Same (only) connection, no tenant in context: the unextended client reaches PostgreSQL.
      const rows = await base.$queryRawUnsafe<{ n: number; ws: string | null }[]>(
        `SELECT count(*)::int AS n, public.current_workspace_id()::text AS ws FROM approval_items`,
      );
      expect(rows).toEqual([{ n: 0, ws: null }]);
    });

    it('SET row_security = off left on the connection does not break the next tenant query', async () => {
      const { db } = tenantClient({ max: 1 });
      await runInTenant(A.id, () => db.$executeRawUnsafe(`SET row_security = off`));
      const items = await runInTenant(A.id, () =>
        db.approvalItem.findMany({ select: { title: true } }),
      );
      expect(titlesOf(items)).toEqual([...A.titles].sort());
      const raw = await runInTenant(A.id, () =>
        db.$queryRawUnsafe<{ title: string }[]>(`SELECT title FROM approval_items`),
      );
      expect(titlesOf(raw)).toEqual([...A.titles].sort());
    });

    it('a search_path pointing at pg_temp first is overridden for every statement', async () => {
      const { db } = tenantClient({ max: 1 });
      await runInTenant(A.id, () => db.$executeRawUnsafe(`SET search_path = pg_temp, public`));
      const [{ path }] = await runInTenant(A.id, () =>
        db.$queryRawUnsafe<{ path: string }[]>(`SELECT current_setting('search_path') AS path`),
      );
      expect(path).toBe('"public", pg_temp');
    });

    it('a raw BEGIN is refused and its connection discarded: nothing later is left uncommitted', async () => {
      const { base, db } = tenantClient({ max: 1 });
      await expect(runInTenant(A.id, () => db.$executeRawUnsafe('BEGIN'))).rejects.toThrow(
        ConnectionStateError,
      );
      const created = await runInTenant(A.id, () =>
        db.approvalItem.create({ data: { title: 'after-begin' }, select: { id: true } }),
      );
      // Seen from another connection: it was committed.
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: A.id, id: created.id } },
          select: { title: true },
        }),
      ).resolves.toEqual({ title: 'after-begin' });
      await admin.approvalItem.delete({
        where: { workspaceId_id: { workspaceId: A.id, id: created.id } },
      });
      // The pool is still usable, with a clean connection.
      const [{ status }] =
        await base.$queryRawUnsafe<{ status: string }[]>(`SELECT 'ok' AS status`);
      expect(status).toBe('ok');
    });

    it('a raw COMMIT inside $transaction ends it: what follows runs with no tenant (fail closed)', async () => {
      const { db } = tenantClient({ max: 1 });
      const seen = await runInTenant(A.id, () =>
        db.$transaction(async (tx) => {
          await tx.approvalItem.count();
          await tx.$executeRawUnsafe('COMMIT');
          return tx.$queryRawUnsafe<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM approval_items`,
          );
        }),
      ).catch((error: unknown) => error);
      // Either Prisma notices the ended transaction, or the statement saw no rows: never B's, never A's.
      if (Array.isArray(seen)) expect(seen).toEqual([{ n: 0 }]);
      else expect(seen).toBeInstanceOf(Error);
      const items = await runInTenant(A.id, () => db.approvalItem.count());
      expect(items).toBe(A.titles.length);
    });
  });

  describe('timeouts and noisy neighbours (item 6)', () => {
    async function activeSleeps(): Promise<number> {
      const rows = await admin.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE usename = 'app_runtime' AND state = 'active' AND query LIKE '%pg_sleep%'
            AND pid <> pg_backend_pid()`,
      );
      return rows[0].n;
    }

    it('PostgreSQL enforces the statement timeout; nothing keeps running on the server', async () => {
      const { db } = tenantClient({ max: 2, queryTimeoutMillis: 300 });
      await expect(
        runInTenant(A.id, () => db.$queryRawUnsafe(`SELECT pg_sleep(3)`)),
      ).rejects.toThrow(/statement timeout/);
      expect(await activeSleeps()).toBe(0);
      // The connection stayed usable.
      await expect(runInTenant(A.id, () => db.approvalItem.count())).resolves.toBe(A.titles.length);
    });

    it('the statement timeout holds inside interactive transactions too', async () => {
      const { db } = tenantClient({ max: 2, queryTimeoutMillis: 300 });
      await expect(
        runInTenant(A.id, () =>
          db.$transaction(async (tx) => tx.$queryRawUnsafe(`SELECT pg_sleep(3)`), {
            timeout: 10_000,
          }),
        ),
      ).rejects.toThrow(/statement timeout/);
      expect(await activeSleeps()).toBe(0);
    });

    it('an interactive transaction that times out mid-statement neither crashes nor leaks a connection', async () => {
      const { db } = tenantClient({ max: 2, queryTimeoutMillis: 1500 });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        await expect(
          runInTenant(A.id, () =>
            db.$transaction(
              async (tx) => {
                await tx.$queryRawUnsafe(`SELECT pg_sleep(1)`);
                return tx.approvalItem.count();
              },
              { timeout: 200, maxWait: 1000 },
            ),
          ),
        ).rejects.toThrow();
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const rows = await admin.$queryRawUnsafe<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE usename = 'app_runtime' AND state LIKE 'idle in transaction%'`,
        );
        expect(rows).toEqual([{ n: 0 }]);
        expect(unhandled).toEqual([]);
        await expect(runInTenant(A.id, () => db.approvalItem.count())).resolves.toBe(
          A.titles.length,
        );
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('PostgreSQL ends a transaction left idle (idle_in_transaction_session_timeout is pinned)', async () => {
      const { db } = tenantClient({ max: 1, idleInTransactionTimeoutMillis: 300 });
      const [{ value }] = await runInTenant(A.id, () =>
        db.$transaction(async (tx) =>
          tx.$queryRawUnsafe<{ value: string }[]>(
            `SELECT current_setting('idle_in_transaction_session_timeout') AS value`,
          ),
        ),
      );
      expect(value).toBe('300ms');
    });

    it('one workspace flooding the pool does not starve another (per-tenant limit)', async () => {
      const { db } = tenantClient({
        max: 4,
        maxConnectionsPerTenant: 2,
        connectionTimeoutMillis: 1500,
      });
      const flood = Array.from({ length: 12 }, () =>
        runInTenant(A.id, () => db.$executeRawUnsafe(`SELECT pg_sleep(0.4)`)).then(
          () => 'ok',
          (error: unknown) => (error instanceof Error ? error.name : 'unknown'),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      const bystander = await runInTenant(B.id, () =>
        db.approvalItem.findMany({ select: { title: true } }),
      );
      const bystanderMs = Date.now() - started;
      const outcomes = await Promise.all(flood);

      expect(titlesOf(bystander)).toEqual([...B.titles].sort());
      // B did not wait for A's queue (A's 12 sleeps need about 2.4 s on two connections).
      expect(bystanderMs).toBeLessThan(1000);
      expect(new Set(outcomes)).toEqual(new Set(['ok', 'TenantBusyError']));
      expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(2);
    });

    it('TenantBusyError is the error a caller sees when its tenant’s turn does not come in time', async () => {
      const { db } = tenantClient({
        max: 2,
        maxConnectionsPerTenant: 1,
        connectionTimeoutMillis: 200,
      });
      const slow = runInTenant(A.id, () => db.$executeRawUnsafe(`SELECT pg_sleep(0.6)`));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const error = await runInTenant(A.id, () => db.approvalItem.count()).catch((e: unknown) => e);
      await slow;
      expect(error).toBeInstanceOf(TenantBusyError);
      expect((error as TenantBusyError).retryAfterSeconds).toBe(1);
    });
  });
});

/** `value` with the last hex digit of its signature changed. */
function tamper(value: string): string {
  const last = value.at(-1) === '0' ? '1' : '0';
  return value.slice(0, -1) + last;
}

/** A setting for `tenantId` signed with a secret the database does not know. */
function otherSecret(tenantId: string): string {
  return new TenantSettingSigner('another-secret-another-secret-another-secret').sign(
    tenantId,
    undefined,
  );
}
