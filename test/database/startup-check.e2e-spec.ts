import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  applyMigrations,
  recreateDatabase,
  withDatabase,
} from '../../src/database/database-bootstrap';
import { RowLevelSecurityNotEnforcedError } from 'nest-prisma-tenancy';
import { PrismaConnection } from 'nest-prisma-tenancy';
import { RowLevelSecurityVerifier, type RowLevelSecurityReport } from 'nest-prisma-tenancy';
import { TEST_DATABASE } from '../setup/test-database';
import { installSettingKey } from '../support/tenant-setting';

/**
 * The start-up check (RowLevelSecurityVerifier) against real broken setups: each test breaks one
 * rule in a scratch database of its own (migrated like the test database, dropped at the end, so
 * role settings IN DATABASE and ALTER DATABASE never reach other tests), runs the check as the
 * runtime role, asserts the exact problem text, and repairs the database.
 */
const SCRATCH = `${TEST_DATABASE}_startup`;
/** A login role of this run only, member of app_runtime: for cluster-wide ALTER ROLE settings. */
const ROLE = `tenancy_check_${process.pid}`;
const ROLE_PASSWORD = 'tenancy-check';
const SECRET = () => process.env.TENANT_SETTING_SECRET as string;

const ownerUrl = () => withDatabase(process.env.DIRECT_URL as string, SCRATCH);
const runtimeUrl = () => withDatabase(process.env.DATABASE_URL as string, SCRATCH);
const roleUrl = () =>
  withDatabase(process.env.DATABASE_URL as string, SCRATCH, ROLE, ROLE_PASSWORD);

let owner: pg.Client;

/** Runs the check as `url`'s role and closes its pool. */
async function check(
  url = runtimeUrl(),
  settingSecret = SECRET(),
): Promise<RowLevelSecurityReport> {
  const prisma = new PrismaConnection({ url, log: [], settingSecret });
  try {
    return await new RowLevelSecurityVerifier(prisma, prisma.settings).report();
  } finally {
    await prisma.tenantPool.end();
  }
}

/** Runs `work` with the scratch database broken by `breaking`, then repairs it with `repairing`. */
async function broken<T>(breaking: string[], repairing: string[], work: () => Promise<T>) {
  for (const sql of breaking) await owner.query(sql);
  try {
    return await work();
  } finally {
    for (const sql of repairing) await owner.query(sql);
  }
}

const fix = (table: string, column = '') =>
  `SELECT public.enable_tenant_rls('public.${table}'${column ? `, '${column}'` : ''})`;

beforeAll(async () => {
  await recreateDatabase(process.env.DIRECT_URL as string, SCRATCH);
  await applyMigrations(ownerUrl());
  await installSettingKey(ownerUrl(), SECRET());
  owner = new pg.Client({ connectionString: ownerUrl() });
  await owner.connect();
  await owner.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await owner.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}' IN ROLE app_runtime`);
  // A workspace with a project and an item (as app_admin, whose policy admits every row), so that
  // a policy letting rows through shows them.
  const admin = new pg.Client({
    connectionString: withDatabase(process.env.SYSTEM_DATABASE_URL as string, SCRATCH),
  });
  await admin.connect();
  try {
    const workspace = randomUUID();
    const project = randomUUID();
    await admin.query(`INSERT INTO public.workspaces (id, name, slug) VALUES ($1, 'W', 'w')`, [
      workspace,
    ]);
    await admin.query(
      `INSERT INTO public.projects (id, workspace_id, name, slug) VALUES ($1, $2, 'P', 'p')`,
      [project, workspace],
    );
    await admin.query(
      `INSERT INTO public.approval_items (workspace_id, project_id, title) VALUES ($1, $2, 'I')`,
      [workspace, project],
    );
  } finally {
    await admin.end();
  }
}, 120_000);

afterAll(async () => {
  await owner?.end();
  const server = new pg.Client({
    connectionString: withDatabase(process.env.DIRECT_URL as string, 'postgres'),
  });
  await server.connect();
  try {
    // Dropping the database drops its role and database settings too.
    await server.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(SCRATCH)} WITH (FORCE)`);
    await server.query(`DROP ROLE IF EXISTS ${ROLE}`);
  } finally {
    await server.end();
  }
});

describe('start-up check on a correct database', () => {
  it("passes on this run's migrated test database with no problem and no warning", async () => {
    await expect(check(process.env.DATABASE_URL)).resolves.toEqual({ problems: [], warnings: [] });
  });

  it('passes on the scratch database, which holds rows', async () => {
    await expect(check()).resolves.toEqual({ problems: [], warnings: [] });
  });

  it('verify() logs success and neither throws nor warns', async () => {
    const prisma = new PrismaConnection({ url: runtimeUrl(), log: [], settingSecret: SECRET() });
    const logger = { log: jest.fn(), warn: jest.fn() };
    try {
      await new RowLevelSecurityVerifier(prisma, prisma.settings).verify(logger);
    } finally {
      await prisma.tenantPool.end();
    }
    expect(logger.log).toHaveBeenCalledWith(
      'Row-Level Security proven on every tenant-scoped table',
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('policies: the behaviour proof, not the policy text', () => {
  it('catches a SELECT policy `... = current_workspace_id() OR workspace_id IS NOT NULL`', async () => {
    const report = await broken(
      [
        `CREATE POLICY leak ON public.approval_items FOR SELECT
           USING (workspace_id = (SELECT public.current_workspace_id()) OR workspace_id IS NOT NULL)`,
      ],
      ['DROP POLICY leak ON public.approval_items'],
      () => check(),
    );
    expect(report).toEqual({
      problems: [
        'table public.approval_items shows rows of other tenants (1 with the signed setting of ' +
          'an unknown tenant, 1 with no setting, 1 with a bare tenant id (forged), 1 with an ' +
          'altered signature (forged), 1 with a setting signed two days ago (expired)): a policy ' +
          'that applies to the runtime role lets them through (leak, tenant_isolation_select); ' +
          'each must compare workspace_id = (SELECT public.current_workspace_id()) and nothing ' +
          `else: drop the others and run ${fix('approval_items')}`,
      ],
      warnings: [],
    });
  });

  it('catches an open policy on the root table (tenant column id), by text and by behaviour', async () => {
    const report = await broken(
      [`CREATE POLICY open_read ON public.workspaces FOR SELECT USING (true)`],
      ['DROP POLICY open_read ON public.workspaces'],
      () => check(),
    );
    expect(report.problems).toEqual([
      'policy open_read on public.workspaces applies to the runtime role but does not compare ' +
        'with public.current_workspace_id() (a bypass): DROP POLICY open_read ON ' +
        `public.workspaces, then ${fix('workspaces', 'id')}`,
      'table public.workspaces shows rows of other tenants (1 with the signed setting of an ' +
        'unknown tenant, 1 with no setting, 1 with a bare tenant id (forged), 1 with an ' +
        'altered signature (forged), 1 with a setting signed two days ago (expired)): a policy ' +
        'that applies to the runtime role lets them through (open_read, tenant_isolation_select); ' +
        'each must compare id = (SELECT public.current_workspace_id()) and nothing else: drop ' +
        `the others and run ${fix('workspaces', 'id')}`,
    ]);
  });

  it('catches an INSERT policy that admits other workspaces, on an empty table', async () => {
    const report = await broken(
      [
        `CREATE POLICY leak_insert ON public.webhooks FOR INSERT
           WITH CHECK (workspace_id = (SELECT public.current_workspace_id()) OR workspace_id IS NOT NULL)`,
      ],
      ['DROP POLICY leak_insert ON public.webhooks'],
      () => check(),
    );
    expect(report.problems).toEqual([
      'table public.webhooks did not refuse a row for another tenant: INSERT of workspace_id ' +
        '= <another tenant> with the signed setting of an unknown tenant failed with 23502 ' +
        '(null value in column "url" of relation "webhooks" violates not-null constraint) instead ' +
        "of Row-Level Security's 42501, so its policies did not refuse it (or something ran " +
        'before them); INSERT policies of the runtime role: leak_insert, tenant_isolation_insert. ' +
        'Each must check workspace_id = (SELECT public.current_workspace_id()) and nothing else: ' +
        `drop the others and run ${fix('webhooks')}`,
    ]);
  });

  it('a policy that does not mention the workspace fails the text check', async () => {
    const report = await broken(
      [`CREATE POLICY open_update ON public.projects FOR UPDATE USING (true)`],
      ['DROP POLICY open_update ON public.projects'],
      () => check(),
    );
    expect(report.problems).toEqual([
      'policy open_update on public.projects applies to the runtime role but does not compare ' +
        'with public.current_workspace_id() (a bypass): DROP POLICY open_update ON ' +
        `public.projects, then ${fix('projects')}`,
    ]);
  });

  it('a policy for another role only is ignored', async () => {
    const report = await broken(
      [`CREATE POLICY admin_read ON public.projects FOR SELECT TO app_admin USING (true)`],
      ['DROP POLICY admin_read ON public.projects'],
      () => check(),
    );
    expect(report.problems).toEqual([]);
  });
});

describe('catalog rules', () => {
  it('a table without Row-Level Security: named, and its writes are not refused', async () => {
    const report = await broken(
      ['ALTER TABLE public.webhooks DISABLE ROW LEVEL SECURITY'],
      ['ALTER TABLE public.webhooks ENABLE ROW LEVEL SECURITY'],
      () => check(),
    );
    expect(report.problems).toEqual([
      `table public.webhooks does not have Row-Level Security enabled: ${fix('webhooks')}`,
      'table public.webhooks did not refuse a row for another tenant: INSERT of workspace_id ' +
        '= <another tenant> with the signed setting of an unknown tenant failed with 23502 ' +
        '(null value in column "url" of relation "webhooks" violates not-null constraint) instead ' +
        "of Row-Level Security's 42501, so its policies did not refuse it (or something ran " +
        'before them); INSERT policies of the runtime role: tenant_isolation_insert. Each must ' +
        'check workspace_id = (SELECT public.current_workspace_id()) and nothing else: drop the ' +
        `others and run ${fix('webhooks')}`,
    ]);
  });

  it('a missing DELETE policy', async () => {
    const report = await broken(
      ['DROP POLICY tenant_isolation_delete ON public.audit_logs'],
      [fix('audit_logs')],
      () => check(),
    );
    expect(report.problems).toEqual([
      'table public.audit_logs has no DELETE policy that applies to the runtime role: ' +
        fix('audit_logs'),
    ]);
  });

  it('a missing table', async () => {
    const report = await broken(
      ['ALTER TABLE public.webhook_deliveries RENAME TO webhook_deliveries_moved'],
      ['ALTER TABLE public.webhook_deliveries_moved RENAME TO webhook_deliveries'],
      () => check(),
    );
    expect(report.problems).toEqual([
      'table public.webhook_deliveries does not exist (apply the migrations: npm run db:deploy)',
    ]);
  });

  it('a role with BYPASSRLS', async () => {
    const report = await broken(
      [`ALTER ROLE ${ROLE} BYPASSRLS`],
      [`ALTER ROLE ${ROLE} NOBYPASSRLS`],
      () => check(roleUrl()),
    );
    expect(report.problems).toEqual([
      `the role ${ROLE} has BYPASSRLS: ALTER ROLE ${ROLE} NOBYPASSRLS`,
    ]);
  });

  it('a table owned by the runtime role without FORCE: named, and its writes are not refused', async () => {
    const tableOwner = decodeURIComponent(new URL(ownerUrl()).username);
    const report = await broken(
      [
        `ALTER TABLE public.webhooks OWNER TO ${ROLE}`,
        'ALTER TABLE public.webhooks NO FORCE ROW LEVEL SECURITY',
      ],
      [
        'ALTER TABLE public.webhooks FORCE ROW LEVEL SECURITY',
        `ALTER TABLE public.webhooks OWNER TO ${tableOwner}`,
      ],
      () => check(roleUrl()),
    );
    expect(report.problems).toEqual([
      'table public.webhooks is owned by the runtime role and its Row-Level Security is not ' +
        'FORCEd: ALTER TABLE public.webhooks FORCE ROW LEVEL SECURITY (better: connect as a role ' +
        'that owns no table)',
      'table public.webhooks did not refuse a row for another tenant: INSERT of workspace_id ' +
        '= <another tenant> with the signed setting of an unknown tenant failed with 23502 ' +
        '(null value in column "url" of relation "webhooks" violates not-null constraint) instead ' +
        "of Row-Level Security's 42501, so its policies did not refuse it (or something ran " +
        'before them); INSERT policies of the runtime role: tenant_isolation_insert. Each must ' +
        'check workspace_id = (SELECT public.current_workspace_id()) and nothing else: drop the ' +
        `others and run ${fix('webhooks')}`,
    ]);
  });

  it('a SUPERUSER is named, and the policy and behaviour checks are skipped', async () => {
    const user = decodeURIComponent(new URL(ownerUrl()).username);
    await expect(check(ownerUrl())).resolves.toEqual({
      problems: [
        `the role ${user} is a SUPERUSER, which ignores Row-Level Security: connect as ` +
          'app_runtime instead',
      ],
      warnings: [],
    });
  });
});

describe('role and database settings', () => {
  it('ALTER ROLE app_runtime IN DATABASE ... SET row_security = off (run by the runtime role itself)', async () => {
    const runtime = new pg.Client({ connectionString: runtimeUrl() });
    await runtime.connect();
    try {
      // The runtime role may change its own login defaults: that is why the check reads them.
      await runtime.query(`ALTER ROLE app_runtime IN DATABASE ${SCRATCH} SET row_security = off`);
    } finally {
      await runtime.end();
    }
    const report = await broken(
      [],
      [`ALTER ROLE app_runtime IN DATABASE ${SCRATCH} RESET row_security`],
      () => check(),
    );
    expect(report.problems).toEqual([
      `the role app_runtime sets row_security = off at login to the database ${SCRATCH} ` +
        `(ALTER ROLE app_runtime IN DATABASE ${SCRATCH} SET ...), which can weaken Row-Level ` +
        'Security: remove it, as the owner or a superuser: ALTER ROLE app_runtime IN DATABASE ' +
        `${SCRATCH} RESET row_security`,
    ]);
  });

  it('refuses to start (PrismaConnection.onModuleInit) while such a setting is there', async () => {
    await broken(
      [`ALTER ROLE app_runtime IN DATABASE ${SCRATCH} SET app.workspace_id = 'anything'`],
      [`ALTER ROLE app_runtime IN DATABASE ${SCRATCH} RESET app.workspace_id`],
      async () => {
        const prisma = new PrismaConnection({
          url: runtimeUrl(),
          log: [],
          settingSecret: SECRET(),
          connectRetries: 1,
        });
        try {
          const failure: unknown = await prisma.onModuleInit().catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(RowLevelSecurityNotEnforcedError);
          expect((failure as RowLevelSecurityNotEnforcedError).problems).toEqual([
            `the role app_runtime sets app.workspace_id = anything at login to the database ` +
              `${SCRATCH} (ALTER ROLE app_runtime IN DATABASE ${SCRATCH} SET ...), which can ` +
              'weaken Row-Level Security: remove it, as the owner or a superuser: ALTER ROLE ' +
              `app_runtime IN DATABASE ${SCRATCH} RESET app.workspace_id`,
          ]);
        } finally {
          await prisma.onApplicationShutdown();
        }
      },
    );
  });

  it("rlsCheck: 'warn' logs the same problems instead of throwing", async () => {
    await broken(
      [`ALTER DATABASE ${SCRATCH} SET search_path = public, pg_temp`],
      [`ALTER DATABASE ${SCRATCH} RESET search_path`],
      async () => {
        const prisma = new PrismaConnection({
          url: runtimeUrl(),
          log: [],
          settingSecret: SECRET(),
          rlsCheck: 'warn',
        });
        const logger = { log: jest.fn(), warn: jest.fn() };
        try {
          await new RowLevelSecurityVerifier(prisma, prisma.settings).verify(logger);
        } finally {
          await prisma.tenantPool.end();
        }
        expect(logger.log).not.toHaveBeenCalled();
        expect(logger.warn).toHaveBeenCalledTimes(1);
        expect(logger.warn).toHaveBeenCalledWith(
          new RowLevelSecurityNotEnforcedError([
            `the database ${SCRATCH} sets search_path = public, pg_temp for every role ` +
              `(ALTER DATABASE ${SCRATCH} SET ...), which can weaken Row-Level Security: remove ` +
              `it, as the owner or a superuser: ALTER DATABASE ${SCRATCH} RESET search_path`,
          ]).message,
        );
      },
    );
  });

  it('a cluster-wide ALTER ROLE ... SET row_security = off (on a role of this test only)', async () => {
    const report = await broken(
      [`ALTER ROLE ${ROLE} SET row_security = off`],
      [`ALTER ROLE ${ROLE} RESET row_security`],
      () => check(roleUrl()),
    );
    expect(report.problems).toEqual([
      `the role ${ROLE} sets row_security = off at login (ALTER ROLE ${ROLE} SET ...), which can ` +
        `weaken Row-Level Security: remove it, as the owner or a superuser: ALTER ROLE ${ROLE} ` +
        'RESET row_security',
    ]);
  });

  it('a login role that switches to the runtime role (SET role) is named by its session user', async () => {
    const report = await broken(
      [`ALTER ROLE ${ROLE} SET role = app_runtime`],
      [`ALTER ROLE ${ROLE} RESET role`],
      () => check(roleUrl()),
    );
    expect(report.problems).toEqual([
      `the role ${ROLE} sets role = app_runtime at login (ALTER ROLE ${ROLE} SET ...), which can ` +
        `weaken Row-Level Security: remove it, as the owner or a superuser: ALTER ROLE ${ROLE} ` +
        'RESET role',
    ]);
  });
});

describe('foreign keys', () => {
  it('a plain foreign key between two tenant tables is a problem', async () => {
    const report = await broken(
      [
        // The primary key is (workspace_id, id): a plain foreign key needs a unique id to point at.
        'CREATE UNIQUE INDEX check_plain_fk_target ON public.approval_items (id)',
        `ALTER TABLE public.approval_comments ADD CONSTRAINT check_plain_fk
           FOREIGN KEY (approval_item_id) REFERENCES public.approval_items (id)`,
      ],
      [
        'ALTER TABLE public.approval_comments DROP CONSTRAINT check_plain_fk',
        'DROP INDEX public.check_plain_fk_target',
      ],
      () => check(),
    );
    expect(report).toEqual({
      problems: [
        'foreign key check_plain_fk on public.approval_comments (approval_item_id) → ' +
          'public.approval_items (id) does not pair workspace_id with ' +
          'public.approval_items.workspace_id: PostgreSQL checks foreign keys without Row-Level ' +
          'Security, so a row of one tenant can reference (and probe for) a row of another; ' +
          'make it composite: FOREIGN KEY (workspace_id, approval_item_id) REFERENCES ' +
          'public.approval_items (workspace_id, id) (with a unique constraint on ' +
          'public.approval_items (workspace_id, id))',
      ],
      warnings: [],
    });
  });

  it('a foreign key into the root table from a column other than the tenant column', async () => {
    const report = await broken(
      [
        `ALTER TABLE public.approval_items ADD CONSTRAINT check_root_fk
           FOREIGN KEY (project_id) REFERENCES public.workspaces (id) NOT VALID`,
      ],
      ['ALTER TABLE public.approval_items DROP CONSTRAINT check_root_fk'],
      () => check(),
    );
    expect(report.problems).toEqual([
      'foreign key check_root_fk on public.approval_items (project_id) → public.workspaces (id) ' +
        'does not pair workspace_id with public.workspaces.id: PostgreSQL checks foreign keys ' +
        'without Row-Level Security, so a row of one tenant can reference (and probe for) a ' +
        'row of another; point it at the tenant column instead (FOREIGN KEY (workspace_id) ' +
        'REFERENCES public.workspaces (id)) or drop it',
    ]);
  });

  it('ON DELETE CASCADE from a global table into a tenant table is one warning, logged', async () => {
    await broken(
      [
        `ALTER TABLE public.approval_items ADD CONSTRAINT check_cascade_fk
           FOREIGN KEY (created_by_id) REFERENCES public.users (id) ON DELETE CASCADE`,
        `ALTER TABLE public.approval_comments ADD CONSTRAINT check_cascade_fk
           FOREIGN KEY (author_id) REFERENCES public.users (id) ON UPDATE CASCADE`,
      ],
      [
        'ALTER TABLE public.approval_items DROP CONSTRAINT check_cascade_fk',
        'ALTER TABLE public.approval_comments DROP CONSTRAINT check_cascade_fk',
      ],
      async () => {
        const warning =
          'foreign keys cascade from global tables into tenant tables: check_cascade_fk ' +
          '(public.users → public.approval_comments (author_id) ON UPDATE CASCADE); ' +
          'check_cascade_fk (public.users → public.approval_items (created_by_id) ON DELETE ' +
          'CASCADE). Deleting or re-keying such a global row changes rows of every tenant, ' +
          'outside Row-Level Security: keep the runtime role unable to do either (no DELETE ' +
          'policy, immutable keys), or use ON DELETE SET NULL / RESTRICT';
        await expect(check()).resolves.toEqual({ problems: [], warnings: [warning] });

        const prisma = new PrismaConnection({
          url: runtimeUrl(),
          log: [],
          settingSecret: SECRET(),
        });
        const logger = { log: jest.fn(), warn: jest.fn() };
        try {
          await new RowLevelSecurityVerifier(prisma, prisma.settings).verify(logger);
        } finally {
          await prisma.tenantPool.end();
        }
        expect(logger.warn.mock.calls).toEqual([[warning]]);
        expect(logger.log).toHaveBeenCalledTimes(1);
      },
    );
  });
});

describe('the tenant setting', () => {
  it('a setting signed with another key is not accepted: names the clock and the key', async () => {
    const report = await check(runtimeUrl(), 'another-secret-of-at-least-32-characters!');
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(
      new RegExp(
        '^a freshly signed tenant setting was not accepted: public\\.current_workspace_id\\(\\) ' +
          'returned NULL instead of [0-9a-f-]{36}, so every request would see no rows\\. The ' +
          "database clock is [+-]\\d+\\.\\d s off this process's \\(signed settings are valid " +
          'for 300 s\\): if that is more, sync the clocks \\(NTP\\)\\. Otherwise the database ' +
          'verifies with another key or an older verifier: apply the migrations \\(npm run ' +
          'db:deploy\\), or rotate the key as the owner \\(DELETE FROM ' +
          'tenancy_private\\.setting_key\\) and restart every app on the database$',
      ),
    );
  });

  it('a verifier that trusts a bare workspace id (the old current_workspace_id) is refused', async () => {
    const report = await broken(
      [
        `CREATE OR REPLACE FUNCTION public.current_workspace_id() RETURNS uuid
           LANGUAGE sql STABLE PARALLEL SAFE
         AS $$ SELECT CASE WHEN current_setting('app.workspace_id', true)
                 ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
               THEN current_setting('app.workspace_id', true)::uuid END $$`,
      ],
      [
        `CREATE OR REPLACE FUNCTION public.current_workspace_id() RETURNS uuid
           LANGUAGE sql STABLE PARALLEL SAFE
         AS $$ SELECT public.tenancy_verified_claim(1) $$`,
      ],
      () => check(),
    );
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^a freshly signed tenant setting was not accepted: public\.current_workspace_id\(\) returned NULL instead of /,
      ),
      expect.stringMatching(
        /^public\.current_workspace_id\(\) accepted a bare tenant id \(forged\) \(it returned [0-9a-f-]{36}\): SQL running as the runtime role could claim any tenant\. Apply the migrations that verify the signed setting \(npm run db:deploy\)$/,
      ),
    ]);
  });
});
