import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createTenantPrismaClient,
  PrismaConnection,
  RowLevelSecurityVerifier,
  runInTenant,
  SqlNamesMismatchError,
  type TenancySqlNamesOptions,
} from 'nest-prisma-tenancy';
import { generateRlsMigration } from '../../packages/nest-prisma-tenancy/src/cli/rls-migration.generator';
import { recreateDatabase, withDatabase } from '../../src/database/database-bootstrap';
import { PROJECT_ROOT } from '../../src/database/project-root';
import { TEST_DATABASE } from '../setup/test-database';

/**
 * Names follow configuration: a scratch database gets the demo's tables and the RLS migration
 * generated with custom SQL names (setting app.org_id, functions current_org_id and
 * current_member_id in the schema `tenancy`, the key in `tenancy_keys`, roles of this run only);
 * the library booted with the same `sql` names isolates tenants there, and booted with the
 * default names refuses to start, naming each name that differs.
 */
const SCRATCH = `${TEST_DATABASE}_sql_names`;
const RUNTIME = `org_runtime_${process.pid}`;
const ADMIN = `org_admin_${process.pid}`;
const PASSWORD = 'org-names-test';
const SQL: Required<TenancySqlNamesOptions> = {
  functionSchema: 'tenancy',
  setting: 'app.org_id',
  tenantFunction: 'current_org_id',
  userFunction: 'current_member_id',
  claimFunction: 'tenancy_verified_claim',
  installKeyFunction: 'tenancy_install_setting_key',
  enableFunction: 'enable_tenant_rls',
  privateSchema: 'tenancy_keys',
  runtimeRole: RUNTIME,
  adminRole: ADMIN,
};
/** The same names as `rls generate` and `check` flags. */
const FLAGS = [
  ['--sql-function-schema', 'tenancy'],
  ['--sql-setting', 'app.org_id'],
  ['--sql-tenant-function', 'current_org_id'],
  ['--sql-user-function', 'current_member_id'],
  ['--sql-private-schema', 'tenancy_keys'],
  ['--sql-runtime-role', RUNTIME],
  ['--sql-admin-role', ADMIN],
].flat();

const MAIN = join(PROJECT_ROOT, 'packages/nest-prisma-tenancy/src/cli/main.ts');
const TSX = join(PROJECT_ROOT, 'node_modules/.bin/tsx');
const SCHEMA = readFileSync(join(PROJECT_ROOT, 'prisma/schema.prisma'), 'utf8');
const INIT = readFileSync(
  join(PROJECT_ROOT, 'prisma/migrations/20261126000000_init/migration.sql'),
  'utf8',
);
const CLI_TIMEOUT = 60_000;
/** The one warning of the init migration's tables (a later demo migration drops these CASCADEs). */
const CASCADE_WARNING =
  'foreign keys cascade from global tables into tenant tables: approval_comments_author_id_fkey ' +
  '(public.users → public.approval_comments (author_id) ON UPDATE CASCADE); ' +
  'approval_items_created_by_id_fkey (public.users → public.approval_items (created_by_id) ON ' +
  'UPDATE CASCADE); approval_items_decided_by_id_fkey (public.users → public.approval_items ' +
  '(decided_by_id) ON UPDATE CASCADE); audit_logs_actor_user_id_fkey (public.users → ' +
  'public.audit_logs (actor_user_id) ON UPDATE CASCADE); workspace_members_user_id_fkey ' +
  '(public.users → public.workspace_members (user_id) ON DELETE CASCADE ON UPDATE CASCADE). ' +
  'Deleting or re-keying such a global row changes rows of every tenant, outside Row-Level ' +
  'Security: keep the runtime role unable to do either (no DELETE policy, immutable keys), or ' +
  'use ON DELETE SET NULL / RESTRICT';
const SECRET = () => process.env.TENANT_SETTING_SECRET as string;

const ownerUrl = () => withDatabase(process.env.DIRECT_URL as string, SCRATCH);
const runtimeUrl = () => withDatabase(process.env.DIRECT_URL as string, SCRATCH, RUNTIME, PASSWORD);
const adminUrl = () => withDatabase(process.env.DIRECT_URL as string, SCRATCH, ADMIN, PASSWORD);

async function run(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

/** Runs the CLI from its TypeScript source in the project root. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { cwd: PROJECT_ROOT }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const A = randomUUID();
const B = randomUUID();
const PROJECT_A = randomUUID();
const PROJECT_B = randomUUID();
let folder: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'nest-prisma-tenancy-sql-names-'));
  await recreateDatabase(process.env.DIRECT_URL as string, SCRATCH);
  await run(ownerUrl(), INIT);
  await run(ownerUrl(), generateRlsMigration(SCHEMA, { sql: SQL }));
  // The migration creates the roles LOGIN without a password: give them one for any auth method.
  for (const role of [RUNTIME, ADMIN]) {
    await run(ownerUrl(), `ALTER ROLE ${role} PASSWORD '${PASSWORD}'`);
  }
  // Two workspaces with a project each, as the admin role (its policy admits every row).
  for (const [workspace, project] of [
    [A, PROJECT_A],
    [B, PROJECT_B],
  ]) {
    await run(adminUrl(), `INSERT INTO public.workspaces (id, name, slug) VALUES ($1, 'W', $2)`, [
      workspace,
      `w-${workspace}`,
    ]);
    await run(
      adminUrl(),
      `INSERT INTO public.projects (id, workspace_id, name, slug) VALUES ($1, $2, 'P', 'p')`,
      [project, workspace],
    );
  }
}, 120_000);

afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  const server = withDatabase(process.env.DIRECT_URL as string, 'postgres');
  await run(server, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(SCRATCH)} WITH (FORCE)`);
  await run(server, `DROP ROLE IF EXISTS ${RUNTIME}, ${ADMIN}`);
});

describe('booted with the names the migration was generated with', () => {
  let connection: PrismaConnection;

  beforeAll(async () => {
    connection = new PrismaConnection({
      url: runtimeUrl(),
      log: [],
      settingSecret: SECRET(),
      connectRetries: 1,
      sql: SQL,
    });
    await connection.onModuleInit();
  }, 60_000);

  afterAll(async () => {
    await connection.onApplicationShutdown();
  });

  it('installed the key through tenancy.tenancy_install_setting_key into tenancy_keys, and the start-up check passes', async () => {
    const { rows } = await run(
      ownerUrl(),
      'SELECT count(*)::int AS keys FROM tenancy_keys.setting_key',
    );
    expect(rows).toEqual([{ keys: 1 }]);
    expect(connection.settings.sql).toEqual(SQL);
    await expect(
      new RowLevelSecurityVerifier(connection, connection.settings).report(),
    ).resolves.toEqual({ problems: [], warnings: [CASCADE_WARNING] });
  });

  it('tenant A sees only its rows, through the tenant client and raw SQL; PostgreSQL reads app.org_id', async () => {
    const db = createTenantPrismaClient(connection.client);
    await expect(
      runInTenant(A, () => db.project.findMany({ select: { id: true, workspaceId: true } })),
    ).resolves.toEqual([{ id: PROJECT_A, workspaceId: A }]);
    await expect(
      runInTenant(A, () => db.$queryRawUnsafe('SELECT id::text FROM public.projects ORDER BY id')),
    ).resolves.toEqual([{ id: PROJECT_A }]);
    // The unscoped client: layer 2 (Row-Level Security) alone.
    await expect(
      runInTenant(B, () =>
        connection.client.$queryRawUnsafe(
          'SELECT w.id::text AS workspace, p.id::text AS project FROM public.workspaces w JOIN public.projects p ON p.workspace_id = w.id',
        ),
      ),
    ).resolves.toEqual([{ workspace: B, project: PROJECT_B }]);
    await expect(
      runInTenant(A, () =>
        connection.client.$queryRawUnsafe(
          "SELECT tenancy.current_org_id()::text AS org, current_setting('app.workspace_id', true) AS old",
        ),
      ),
    ).resolves.toEqual([{ org: A, old: null }]);
    await expect(
      connection.client.$queryRawUnsafe('SELECT count(*)::int AS visible FROM public.projects'),
    ).resolves.toEqual([{ visible: 0 }]);
  });

  it("tenant A's writes get its id by default (tenancy.current_org_id()) and cannot name B", async () => {
    const mine = randomUUID();
    await runInTenant(A, () =>
      connection.client.$executeRawUnsafe(
        `INSERT INTO public.projects (id, name, slug) VALUES ($1::uuid, 'Mine', 'mine')`,
        mine,
      ),
    );
    const { rows } = await run(
      ownerUrl(),
      'SELECT workspace_id::text AS workspace FROM public.projects WHERE id = $1',
      [mine],
    );
    expect(rows).toEqual([{ workspace: A }]);
    await expect(
      runInTenant(A, () =>
        connection.client.$executeRawUnsafe(
          `INSERT INTO public.projects (id, workspace_id, name, slug) VALUES ($1::uuid, $2::uuid, 'X', 'x')`,
          randomUUID(),
          B,
        ),
      ),
    ).rejects.toThrow(/new row violates row-level security policy for table "projects"/);
  });
});

describe('booted with other names', () => {
  /** Starts a PrismaConnection with `sql` and returns what onModuleInit threw. */
  async function startUpFailure(sql?: TenancySqlNamesOptions): Promise<unknown> {
    const connection = new PrismaConnection({
      url: runtimeUrl(),
      log: [],
      settingSecret: SECRET(),
      connectRetries: 1,
      sql,
    });
    try {
      return await connection.onModuleInit().then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      await connection.onApplicationShutdown();
    }
  }

  it('the default names refuse to start with SqlNamesMismatchError naming each difference', async () => {
    const failure = await startUpFailure();
    expect(failure).toBeInstanceOf(SqlNamesMismatchError);
    const error = failure as SqlNamesMismatchError;
    expect(error.name).toBe('SqlNamesMismatchError');
    expect(error.mismatches).toEqual([
      { option: 'functionSchema', configured: 'public', database: 'tenancy' },
      { option: 'setting', configured: 'app.workspace_id', database: 'app.org_id' },
      { option: 'tenantFunction', configured: 'current_workspace_id', database: 'current_org_id' },
      { option: 'userFunction', configured: 'current_app_user_id', database: 'current_member_id' },
      { option: 'privateSchema', configured: 'tenancy_private', database: 'tenancy_keys' },
      { option: 'runtimeRole', configured: 'app_runtime', database: RUNTIME },
      { option: 'adminRole', configured: 'app_admin', database: ADMIN },
    ]);
    expect(error.message).toBe(
      "The database's Row-Level Security objects have other names than this app is configured with:\n" +
        `  - sql.functionSchema is "public" but the database's RLS migration uses "tenancy"\n` +
        `  - sql.setting is "app.workspace_id" but the database's RLS migration uses "app.org_id"\n` +
        `  - sql.tenantFunction is "current_workspace_id" but the database's RLS migration uses "current_org_id"\n` +
        `  - sql.userFunction is "current_app_user_id" but the database's RLS migration uses "current_member_id"\n` +
        `  - sql.privateSchema is "tenancy_private" but the database's RLS migration uses "tenancy_keys"\n` +
        `  - sql.runtimeRole is "app_runtime" but the database's RLS migration uses "${RUNTIME}"\n` +
        `  - sql.adminRole is "app_admin" but the database's RLS migration uses "${ADMIN}"\n` +
        'Configure the names the migration was generated with (PrismaModule.forRoot()/forRootAsync() ' +
        "option sql: { functionSchema: 'tenancy', setting: 'app.org_id', tenantFunction: " +
        "'current_org_id', userFunction: 'current_member_id', privateSchema: 'tenancy_keys', " +
        `runtimeRole: '${RUNTIME}', adminRole: '${ADMIN}' }; for the CLI: ${FLAGS.join(' ')}), or ` +
        "generate the migration again with this app's names (nest-prisma-tenancy rls generate) and apply it.",
    );
  }, 60_000);

  it('one other name (the setting) is found by the start-up check, after the key is installed', async () => {
    const failure = await startUpFailure({ ...SQL, setting: 'app.workspace_id' });
    expect(failure).toBeInstanceOf(SqlNamesMismatchError);
    expect((failure as SqlNamesMismatchError).mismatches).toEqual([
      { option: 'setting', configured: 'app.workspace_id', database: 'app.org_id' },
    ]);
  }, 60_000);
});

describe('the CLI with --sql-* names', () => {
  it(
    'rls generate writes the migration of those names',
    async () => {
      const { code, stdout, stderr } = await cli(['rls', 'generate', ...FLAGS]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toBe(generateRlsMigration(SCHEMA, { sql: SQL }));
    },
    CLI_TIMEOUT,
  );

  it(
    'rls generate refuses a bad name, naming its flag',
    async () => {
      await expect(cli(['rls', 'generate', '--sql-setting', 'org_id'])).resolves.toEqual({
        code: 2,
        stdout: '',
        stderr:
          'nest-prisma-tenancy: --sql-setting must be a custom setting name "prefix.name" in lower ' +
          'case, e.g. "app.tenant_id"; got "org_id".\nRun nest-prisma-tenancy --help for usage.\n',
      });
    },
    CLI_TIMEOUT,
  );

  it(
    'check passes with the names, and names each difference without them',
    async () => {
      const schema = join(folder, 'org-defaults.prisma');
      writeFileSync(
        schema,
        SCHEMA.replace(
          /dbgenerated\("current_workspace_id\(\)"\)/g,
          'dbgenerated("tenancy.current_org_id()")',
        ),
      );
      const url = runtimeUrl();
      await expect(
        cli(['check', '--schema', schema, '--database-url', url, ...FLAGS]),
      ).resolves.toEqual({ code: 0, stdout: '', stderr: `warning: ${CASCADE_WARNING}\n` });
      await expect(cli(['check', '--database-url', url])).resolves.toEqual({
        code: 1,
        stdout: [
          '--sql-function-schema is "public" but the database\'s RLS migration uses "tenancy"',
          '--sql-setting is "app.workspace_id" but the database\'s RLS migration uses "app.org_id"',
          '--sql-tenant-function is "current_workspace_id" but the database\'s RLS migration uses "current_org_id"',
          '--sql-user-function is "current_app_user_id" but the database\'s RLS migration uses "current_member_id"',
          '--sql-private-schema is "tenancy_private" but the database\'s RLS migration uses "tenancy_keys"',
          `--sql-runtime-role is "app_runtime" but the database's RLS migration uses "${RUNTIME}"`,
          `--sql-admin-role is "app_admin" but the database's RLS migration uses "${ADMIN}"`,
        ]
          .map((line) => `database: ${line}\n`)
          .join(''),
        stderr: '',
      });
    },
    CLI_TIMEOUT,
  );
});
