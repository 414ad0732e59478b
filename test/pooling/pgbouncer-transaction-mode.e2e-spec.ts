import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { createTenantAdapter, createTenantPrismaClient, runInTenant } from 'nest-prisma-tenancy';
import { TEST_DATABASE } from '../setup/test-database';
import { startPgBouncer, type PgBouncerHandle, credentialsOf } from '../support/pgbouncer';
import { signedSetting } from '../support/tenant-setting';

/**
 * The tenant setting behind Row-Level Security behaves as the app relies on behind a transaction-
 * mode pooler (Supabase's pooler, reproduced with a real PgBouncer with one server connection):
 * a transaction-local `app.workspace_id` (a value signed by the library) never reaches the next
 * client of the same server connection, while a session-level one does (which is why the library
 * never uses it). The library's tenant pool does not trust what a previous client left on the
 * server connection: it sends its own setting (or a cleared one) and pins `row_security` with
 * every query.
 */

interface SessionState {
  pid: number;
  setting: string | null;
  workspace: string | null;
}

const STATE_SQL =
  "SELECT pg_backend_pid() AS pid, current_setting('app.workspace_id', true) AS setting, " +
  'current_workspace_id()::text AS workspace';

async function stateOf(client: pg.Client): Promise<SessionState> {
  const { rows } = await client.query<SessionState>(STATE_SQL);
  return rows[0];
}

describe('PgBouncer in transaction mode (one server connection) in front of the RLS database', () => {
  const runtime = credentialsOf('DATABASE_URL');
  const owner = credentialsOf('DIRECT_URL');
  const workspaceA = { id: randomUUID(), name: 'Pooler A', slug: `pooler-a-${randomUUID()}` };
  const workspaceB = { id: randomUUID(), name: 'Pooler B', slug: `pooler-b-${randomUUID()}` };

  let bouncer: PgBouncerHandle;
  let first: pg.Client;
  let second: pg.Client;
  let ownerClient: pg.Client;
  let prisma: PrismaClient | undefined;
  /** An unextended PrismaClient over the library's tenant pool, through the pooler (layer 2). */
  let tenantDriver: PrismaClient | undefined;

  /** Runs `sql` as the owner in a transaction whose tenant is `workspaceId` (RLS is forced). */
  async function asOwnerIn(workspaceId: string, sql: string, values: unknown[]): Promise<void> {
    await ownerClient.query('BEGIN');
    try {
      await ownerClient.query("SELECT set_config('app.workspace_id', $1, true)", [
        signedSetting(workspaceId),
      ]);
      await ownerClient.query(sql, values);
      await ownerClient.query('COMMIT');
    } catch (error) {
      await ownerClient.query('ROLLBACK');
      throw error;
    }
  }

  beforeAll(async () => {
    bouncer = await startPgBouncer({
      targetUrl: process.env.DIRECT_URL ?? '',
      users: [runtime],
      poolMode: 'transaction',
      poolSize: 1,
    });
    const runtimeUrl = bouncer.urlFor(runtime.user, runtime.password, TEST_DATABASE);
    first = new pg.Client({ connectionString: runtimeUrl });
    second = new pg.Client({ connectionString: runtimeUrl });
    ownerClient = new pg.Client({
      connectionString: bouncer.urlFor(owner.user, owner.password, TEST_DATABASE),
    });
    await Promise.all([first.connect(), second.connect(), ownerClient.connect()]);

    for (const workspace of [workspaceA, workspaceB]) {
      await asOwnerIn(workspace.id, 'INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)', [
        workspace.id,
        workspace.name,
        workspace.slug,
      ]);
    }
  });

  afterAll(async () => {
    try {
      await prisma?.$disconnect();
      await tenantDriver?.$disconnect();
      if (ownerClient) {
        for (const workspace of [workspaceA, workspaceB]) {
          await asOwnerIn(workspace.id, 'DELETE FROM workspaces WHERE id = $1', [workspace.id]);
        }
      }
    } finally {
      await Promise.all(
        [first, second, ownerClient].map((client) => client?.end().catch(() => undefined)),
      );
      await bouncer?.stop();
    }
  });

  it('two clients share the one server connection of the app_runtime pool', async () => {
    const [a, b] = [await stateOf(first), await stateOf(second)];

    expect(b.pid).toBe(a.pid);
    expect(a.pid).toEqual(expect.any(Number));
  });

  it('a transaction-local tenant setting does not survive into the next client of the connection', async () => {
    const setting = signedSetting(workspaceA.id);
    await first.query('BEGIN');
    await first.query("SELECT set_config('app.workspace_id', $1, true)", [setting]);
    const inside = await stateOf(first);
    await first.query('COMMIT');

    const next = await stateOf(second);

    expect(inside.setting).toBe(setting);
    expect(inside.workspace).toBe(workspaceA.id);
    expect(next.pid).toBe(inside.pid);
    expect(next.setting).toBe('');
    expect(next.workspace).toBeNull();
  });

  it('a transaction-local tenant setting is gone after a rollback too', async () => {
    await first.query('BEGIN');
    await first.query("SELECT set_config('app.workspace_id', $1, true)", [
      signedSetting(workspaceB.id),
    ]);
    const inside = await stateOf(first);
    await first.query('ROLLBACK');

    const next = await stateOf(second);

    expect(inside.workspace).toBe(workspaceB.id);
    expect(next.pid).toBe(inside.pid);
    expect(next.setting).toBe('');
    expect(next.workspace).toBeNull();
  });

  it('a session-level setting DOES leak to the next client of the connection (never use it)', async () => {
    const setting = signedSetting(workspaceA.id);
    await first.query("SELECT set_config('app.workspace_id', $1, false)", [setting]);
    try {
      const [leaked, visible] = await Promise.all([
        stateOf(second),
        second.query<{ id: string }>('SELECT id FROM workspaces ORDER BY id'),
      ]);
      const origin = await stateOf(first);

      expect(leaked.pid).toBe(origin.pid);
      expect(leaked.setting).toBe(setting);
      expect(leaked.workspace).toBe(workspaceA.id);
      // The other client now sees workspace A's rows under RLS: a cross-tenant leak.
      expect(visible.rows).toEqual([{ id: workspaceA.id }]);
    } finally {
      await second.query('RESET app.workspace_id');
    }

    const after = await stateOf(first);
    expect(after.setting).toBe('');
    expect(after.workspace).toBeNull();
  });

  it('Prisma (adapter-pg) scopes a batch transaction to its tenant through the pooler', async () => {
    prisma = new PrismaClient({
      adapter: new PrismaPg({
        connectionString: bouncer.urlFor(runtime.user, runtime.password, TEST_DATABASE),
      }),
    });
    const client = prisma;
    const inTenant = async (workspaceId: string) => {
      const [, workspaces] = await client.$transaction([
        client.$executeRaw`SELECT set_config('app.workspace_id', ${signedSetting(workspaceId)}, true)`,
        client.workspace.findMany({ select: { id: true, name: true, slug: true } }),
      ]);
      return workspaces;
    };

    await expect(inTenant(workspaceA.id)).resolves.toEqual([workspaceA]);
    await expect(inTenant(workspaceB.id)).resolves.toEqual([workspaceB]);
    // Without the setting (the same single server connection, right after a tenant's transaction).
    await expect(client.workspace.findMany({ select: { id: true } })).resolves.toEqual([]);
    const [{ pid }] = await client.$queryRaw<
      Array<{ pid: number }>
    >`SELECT pg_backend_pid() AS pid`;
    expect(pid).toBe((await stateOf(first)).pid);
  });
  describe("the library's tenant pool through the pooler, after another client left session state", () => {
    const bouncerUrl = () => bouncer.urlFor(runtime.user, runtime.password, TEST_DATABASE);

    beforeAll(() => {
      tenantDriver = new PrismaClient({ adapter: createTenantAdapter(bouncerUrl(), { max: 2 }) });
    });

    it('a session-level signed setting left by one client gives the next no-tenant query no rows', async () => {
      const driver = tenantDriver!;
      await first.query("SELECT set_config('app.workspace_id', $1, false)", [
        signedSetting(workspaceA.id),
      ]);
      try {
        // The leak is there: a plain client on the same server connection sees workspace A.
        const leaked = await stateOf(second);
        expect(leaked.workspace).toBe(workspaceA.id);

        const [workspaces, [state]] = await Promise.all([
          driver.workspace.findMany({ select: { id: true } }),
          driver.$queryRaw<{ pid: number; workspace: string | null }[]>`
            SELECT pg_backend_pid() AS pid, public.current_workspace_id()::text AS workspace`,
        ]);

        expect(workspaces).toEqual([]);
        expect(state).toEqual({ pid: leaked.pid, workspace: null });
      } finally {
        await second.query('RESET app.workspace_id');
      }
    });

    it('a session-level `SET row_security = off` left on the connection does not stop the next tenant query from seeing its own rows', async () => {
      const db = createTenantPrismaClient(tenantDriver!);
      await first.query('SET row_security = off');
      try {
        // The state is there: a plain client on the same server connection now gets an error
        // for any table under RLS (app_runtime cannot bypass it).
        await expect(second.query('SELECT id FROM workspaces')).rejects.toMatchObject({
          code: '42501',
        });
        const { pid } = await stateOf(second);

        const [workspaces, [state]] = await runInTenant(workspaceA.id, () =>
          Promise.all([
            db.workspace.findMany({ select: { id: true, name: true, slug: true } }),
            db.$queryRaw<{ pid: number; rowSecurity: string }[]>`
              SELECT pg_backend_pid() AS pid, current_setting('row_security') AS "rowSecurity"`,
          ]),
        );

        expect(workspaces).toEqual([workspaceA]);
        expect(state).toEqual({ pid, rowSecurity: 'on' });
        // And it is still off for the session afterwards: the pin was transaction-local.
        await expect(second.query('SHOW row_security')).resolves.toMatchObject({
          rows: [{ row_security: 'off' }],
        });
      } finally {
        await second.query('RESET row_security');
      }
    });
  });
});
