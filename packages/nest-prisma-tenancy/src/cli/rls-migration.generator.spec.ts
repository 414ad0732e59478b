import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { generateRlsMigration } from './rls-migration.generator';
import { UsageError } from './usage.error';

const MIGRATIONS = join(__dirname, '../../../../prisma/migrations');
const DEMO_SCHEMA = readFileSync(join(__dirname, '../../../../prisma/schema.prisma'), 'utf8');
const COMMITTED = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()
  .map((name) => readFileSync(join(MIGRATIONS, name, 'migration.sql'), 'utf8'));
const INIT = readFileSync(join(MIGRATIONS, '20261126000000_init', 'migration.sql'), 'utf8');

/** The URL of `database` on the server of DIRECT_URL (the test run's owner). */
function urlOf(database: string): string {
  const url = new URL(process.env.DIRECT_URL as string);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function recreate(database: string, scripts: readonly string[]): Promise<void> {
  await withClient(urlOf('postgres'), async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  });
  await withClient(urlOf(database), async (client) => {
    for (const script of scripts) await client.query(script);
  });
}

async function drop(database: string): Promise<void> {
  await withClient(urlOf('postgres'), (admin) =>
    admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`),
  );
}

/** What Row-Level Security is made of, as the catalog shows it. */
const CATALOG = {
  policies: `SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
               FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2`,
  triggers: `SELECT c.relname, t.tgname, t.tgtype, t.tgattr::text, encode(t.tgargs, 'escape') AS args,
                    p.proname
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
              WHERE NOT t.tgisinternal ORDER BY 1, 2`,
  functions: `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args,
                     pg_get_function_result(p.oid) AS result, p.prosrc, p.prosecdef, p.provolatile,
                     p.proparallel, p.proconfig::text, p.proacl::text
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname IN ('public', 'tenancy_private') ORDER BY 1, 2, 3`,
  tables: `SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('public', 'tenancy_private') AND c.relkind = 'r'
              AND c.relname <> '_prisma_migrations' ORDER BY 1, 2`,
  columns: `SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) AS default, a.attacl::text
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE n.nspname IN ('public', 'tenancy_private') AND c.relkind = 'r'
               AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2`,
  defaultPrivileges: `SELECT defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1`,
  schemas: `SELECT nspname, nspacl::text FROM pg_namespace
             WHERE nspname IN ('public', 'tenancy_private') ORDER BY 1`,
  temporary: `SELECT r AS role, has_database_privilege(r, current_database(), 'TEMPORARY') AS temp
                FROM unnest(ARRAY['app_runtime', 'app_admin']) AS r`,
};

async function catalogOf(database: string): Promise<Record<string, unknown[]>> {
  return withClient(urlOf(database), async (client) => {
    const result: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(CATALOG))
      result[name] = (await client.query(sql)).rows;
    return result;
  });
}

describe('generateRlsMigration', () => {
  const committed = `cli_committed_${process.pid}`;
  const generated = `cli_generated_${process.pid}`;
  const sql = generateRlsMigration(DEMO_SCHEMA);

  afterAll(async () => {
    await drop(committed);
    await drop(generated);
  });

  it("gives the demo schema's database the same Row-Level Security as the committed migrations", async () => {
    await recreate(committed, COMMITTED);
    await recreate(generated, [INIT, sql]);
    const [expected, actual] = [await catalogOf(committed), await catalogOf(generated)];
    expect(actual.policies).toHaveLength(64);
    for (const part of Object.keys(CATALOG))
      expect([part, actual[part]]).toEqual([part, expected[part]]);
  }, 60_000);

  it('is idempotent: applied again, it leaves the same catalog', async () => {
    await recreate(generated, [INIT, sql]);
    const once = await catalogOf(generated);
    await withClient(urlOf(generated), (client) => client.query(sql));
    expect(await catalogOf(generated)).toEqual(once);
  }, 60_000);

  it('uses the configured names', () => {
    const custom = generateRlsMigration(
      DEMO_SCHEMA.replace(/workspaceId/g, 'orgId').replace(/\bWorkspace\b/g, 'Org'),
      { tenantField: 'orgId', rootModel: 'Org', runtimeRole: 'web', adminRole: 'ops' },
    );
    expect(custom).toContain("IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'web') THEN");
    expect(custom).toContain(
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO web, ops;',
    );
    expect(custom).toContain(
      'CREATE POLICY admin_all ON %s FOR ALL TO ops USING (true) WITH CHECK (true)',
    );
    expect(custom).toContain("SELECT public.enable_tenant_rls('public.workspaces', 'id');");
    expect(custom).not.toContain('app_runtime');
    expect(custom).not.toContain('app_admin');
  });

  it('refuses role names that are not plain identifiers and schemas without tenancy', () => {
    expect(() => generateRlsMigration(DEMO_SCHEMA, { runtimeRole: 'x; DROP' })).toThrow(
      new UsageError(
        '--sql-runtime-role must be a lower-case SQL identifier (letters, digits, underscore; at most 63); got "x; DROP".',
      ),
    );
    expect(() => generateRlsMigration('model A {\n id Int @id\n}\n')).toThrow(
      'the schema has no tenant root model "Workspace" and no model with the tenant field "workspaceId"',
    );
  });
});

describe('generateRlsMigration with custom SQL names', () => {
  const CUSTOM = {
    functionSchema: 'tenancy',
    setting: 'app.org_id',
    tenantFunction: 'current_org_id',
    userFunction: 'current_member_id',
    claimFunction: 'org_verified_claim',
    installKeyFunction: 'org_install_key',
    enableFunction: 'enable_org_rls',
    privateSchema: 'org_private',
    runtimeRole: 'org_runtime',
    adminRole: 'org_admin',
  };
  const sql = generateRlsMigration(DEMO_SCHEMA, { sql: CUSTOM });

  it('names every object as configured, and lists the names in its header', () => {
    expect(sql.split('\n').slice(0, 4)).toEqual([
      '-- Row-Level Security for the tenant models of this schema, generated by `nest-prisma-tenancy rls generate`',
      '-- (tenant field workspaceId, root Workspace, roles org_runtime and org_admin).',
      '-- SQL names (configure the app with the same, PrismaModule option sql): functionSchema tenancy, ' +
        'setting app.org_id, tenantFunction current_org_id, userFunction current_member_id, ' +
        'claimFunction org_verified_claim, installKeyFunction org_install_key, enableFunction ' +
        'enable_org_rls, privateSchema org_private.',
      "-- Idempotent: generate and apply it again after adding a model. Run it as the tables' owner.",
    ]);
    for (const expected of [
      'CREATE SCHEMA IF NOT EXISTS tenancy;\nREVOKE ALL ON SCHEMA tenancy FROM PUBLIC;\n' +
        'GRANT USAGE ON SCHEMA tenancy TO org_runtime, org_admin;',
      'CREATE SCHEMA IF NOT EXISTS org_private;\nREVOKE ALL ON SCHEMA org_private FROM PUBLIC;',
      'CREATE TABLE IF NOT EXISTS org_private.setting_key (',
      'CREATE OR REPLACE FUNCTION tenancy.org_install_key(new_key bytea, max_age_seconds integer)',
      'GRANT EXECUTE ON FUNCTION tenancy.org_install_key(bytea, integer) TO org_runtime;',
      'CREATE OR REPLACE FUNCTION tenancy.org_verified_claim(part integer) RETURNS uuid',
      "  raw text := current_setting('app.org_id', true);",
      'CREATE OR REPLACE FUNCTION tenancy.current_org_id() RETURNS uuid\n' +
        '  LANGUAGE sql STABLE PARALLEL SAFE\nAS $$ SELECT tenancy.org_verified_claim(1) $$;',
      'CREATE OR REPLACE FUNCTION tenancy.current_member_id() RETURNS uuid\n' +
        '  LANGUAGE sql STABLE PARALLEL SAFE\nAS $$ SELECT tenancy.org_verified_claim(2) $$;',
      "  matches text := format('%I = (SELECT tenancy.current_org_id())', tenant_column);",
      "SELECT tenancy.enable_org_rls('public.workspaces', 'id');",
      "SELECT tenancy.enable_org_rls('public.projects');",
      'ALTER TABLE public.projects ALTER COLUMN workspace_id SET DEFAULT tenancy.current_org_id();',
      'CREATE POLICY identity_insert ON public.users FOR INSERT\n' +
        '  WITH CHECK (id = (SELECT tenancy.current_member_id()));',
      'AND m.workspace_id = (SELECT tenancy.current_org_id()))',
    ]) {
      expect(sql).toContain(expected);
    }
  });

  it('keeps none of the default names', () => {
    for (const name of [
      'app_runtime',
      'app_admin',
      'app.workspace_id',
      'current_workspace_id',
      'current_app_user_id',
      'tenancy_verified_claim',
      'tenancy_install_setting_key',
      'enable_tenant_rls',
      'tenancy_private',
    ]) {
      expect([name, sql.includes(name)]).toEqual([name, false]);
    }
  });

  it('creates no function schema when it is public', () => {
    const publicSql = generateRlsMigration(DEMO_SCHEMA, { sql: { setting: 'app.org_id' } });
    expect(publicSql).not.toContain("The tenancy functions' schema");
    expect(publicSql).toContain("  raw text := current_setting('app.org_id', true);");
    expect(publicSql).toContain(
      '-- SQL names (configure the app with the same, PrismaModule option sql): setting app.org_id.',
    );
  });

  it('refuses a bad name, naming its --sql-* flag', () => {
    expect(() => generateRlsMigration(DEMO_SCHEMA, { sql: { setting: 'org_id' } })).toThrow(
      new UsageError(
        '--sql-setting must be a custom setting name "prefix.name" in lower case, e.g. "app.tenant_id"; got "org_id".',
      ),
    );
    expect(() =>
      generateRlsMigration(DEMO_SCHEMA, { sql: { functionSchema: 'tenancy_private' } }),
    ).toThrow(
      new UsageError(
        '--sql-private-schema must differ from --sql-function-schema (the app roles get USAGE on the function schema, never on the private one); both are "tenancy_private".',
      ),
    );
  });
});
