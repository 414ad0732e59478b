import pg from 'pg';
import { tenantTables } from './tenant-tables';

/** The tenant-owned tables of the current schema; the derived list must at least contain these. */
const EXPECTED_TABLES = [
  'workspaces',
  'workspace_members',
  'workspace_invitations',
  'api_keys',
  'ai_provider_configs',
  'projects',
  'approval_items',
  'approval_comments',
  'webhooks',
  'webhook_deliveries',
  'audit_logs',
];

const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

interface PolicyRow {
  tablename: string;
  policyname: string;
  permissive: string;
  roles: string[];
  cmd: string;
  qual: string | null;
  with_check: string | null;
}

/** Reads the catalog of the migrated test database: what the migrations actually created. */
describe('Row-Level Security catalog', () => {
  const tables = tenantTables();
  let owner: pg.Client;
  let policies: PolicyRow[];

  beforeAll(async () => {
    owner = new pg.Client({ connectionString: process.env.DIRECT_URL });
    await owner.connect();
    // node-postgres returns name[] as a string unless it is cast to text[].
    ({ rows: policies } = await owner.query<PolicyRow>(
      `SELECT tablename, policyname, permissive, roles::text[] AS roles, cmd, qual, with_check
         FROM pg_policies WHERE schemaname = 'public'`,
    ));
  });

  afterAll(async () => {
    await owner.end();
  });

  it('derives the tenant-owned tables from the Prisma schema', () => {
    expect(tables.length).toBeGreaterThanOrEqual(EXPECTED_TABLES.length);
    expect(tables).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    expect(new Set(tables).size).toBe(tables.length);
  });

  it.each(tables)('%s has row security enabled and forced', async (table) => {
    const { rows } = await owner.query<{ enabled: boolean; forced: boolean }>(
      `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced
         FROM pg_class WHERE oid = to_regclass($1)`,
      [`public.${table}`],
    );
    expect(rows).toEqual([{ enabled: true, forced: true }]);
  });

  it.each(tables)(
    '%s has a policy for SELECT, INSERT, UPDATE and DELETE that applies to app_runtime',
    (table) => {
      const applicable = policies.filter(
        (policy) =>
          policy.tablename === table &&
          policy.permissive === 'PERMISSIVE' &&
          (policy.roles.includes('public') || policy.roles.includes('app_runtime')),
      );
      const covered = COMMANDS.filter((command) =>
        applicable.some((policy) => policy.cmd === command || policy.cmd === 'ALL'),
      );
      expect(covered).toEqual([...COMMANDS]);
      // Every one of them must compare with the current workspace: a `USING (true)` for public
      // would silently open the table.
      for (const policy of applicable) {
        for (const expression of [policy.qual, policy.with_check]) {
          if (expression !== null) expect(expression).toContain('current_workspace_id()');
        }
      }
    },
  );

  it('app_runtime is neither a superuser nor able to bypass RLS, and is not a member of app_admin', async () => {
    const { rows } = await owner.query(
      `SELECT rolsuper, rolbypassrls, pg_has_role('app_runtime', 'app_admin', 'MEMBER') AS admin_member
         FROM pg_roles WHERE rolname = 'app_runtime'`,
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, admin_member: false }]);
  });

  it('app_runtime owns no table and cannot TRUNCATE any table', async () => {
    const { rows: owned } = await owner.query(
      `SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
        WHERE r.rolname = 'app_runtime'`,
    );
    const { rows: truncatable } = await owner.query(
      `SELECT c.oid::regclass::text AS name FROM pg_class c
        WHERE c.relkind IN ('r', 'p') AND has_table_privilege('app_runtime', c.oid, 'TRUNCATE')`,
    );
    expect(owned).toEqual([]);
    expect(truncatable).toEqual([]);
  });
});
