import { Module, type INestApplication } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { ClsModule } from 'nestjs-cls';
import { Client } from 'pg';
import { PrismaModule } from 'nest-prisma-tenancy';
import {
  describeTenantIsolation,
  isolationModelsOf,
  IsolationKitOptionsError,
  ISOLATION_CHECKS,
  MissingSettingSecretError,
  NoTenantModelsError,
  SettingNotAcceptedError,
  TenantIsolationKit,
  type CheckResult,
  type IsolationLayer,
  type TestFramework,
} from 'nest-prisma-tenancy/testing';
import { AppModule } from '../../src/app.module';
import { credentialsOf, startPgBouncer, type PgBouncerHandle } from '../support/pgbouncer';
import { TEST_DATABASE } from '../setup/test-database';
import { createTestApp } from '../support/test-app';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (global setup)`);
  return value;
}

const checksOf = (layer: IsolationLayer) => ISOLATION_CHECKS.filter((c) => c.layer === layer);
const namesOf = (results: readonly CheckResult[]) =>
  results.map((r) => `[${r.check.layer}] ${r.check.name}`);

/** The demo app's own schema, through the kit exactly as a user of the library would run it. */
describe('isolation kit on the demo app', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await createTestApp();
    // The kit provokes P2025s on purpose; the app would log each one as an error.
    app.useLogger(['fatal']);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("covers all 10 tenant-owned models of the schema, read from the app module's client", () => {
    expect(isolationModelsOf({ module: AppModule.forRoot() })).toEqual([
      'WorkspaceMember',
      'WorkspaceInvitation',
      'ApiKey',
      'AIProviderConfig',
      'Project',
      'ApprovalItem',
      'ApprovalComment',
      'Webhook',
      'WebhookDelivery',
      'AuditLog',
    ]);
  });

  // Client class, tenant options, URLs and setting secret: the app's PrismaModule's.
  describeTenantIsolation({
    name: 'tenant isolation (every tenant-owned model)',
    module: AppModule.forRoot(),
    app: () => app,
  });
});

/**
 * The same kit with the app's DATABASE_URL and the kit's runtime connection going through PgBouncer
 * in transaction mode (two server connections, shared by every client): the setting is
 * transaction-local, so it never outlives the statement or transaction that carries it.
 */
describe('isolation kit on the demo app, through PgBouncer in transaction mode', () => {
  let app: INestApplication;
  let bouncer: PgBouncerHandle;
  let pooledUrl: string;
  const savedDatabaseUrl = process.env.DATABASE_URL;

  beforeAll(async () => {
    const { user, password } = credentialsOf('DATABASE_URL');
    bouncer = await startPgBouncer({
      targetUrl: env('DIRECT_URL'),
      users: [{ user, password }],
      poolMode: 'transaction',
      poolSize: 2,
    });
    pooledUrl = bouncer.urlFor(user, password, TEST_DATABASE);
    app = await createTestApp({ DATABASE_URL: pooledUrl });
    app.useLogger(['fatal']);
  });

  afterAll(async () => {
    await app?.close();
    await bouncer?.stop();
    process.env.DATABASE_URL = savedDatabaseUrl;
  });

  // runtimeUrl defaults to the app's url: the pooled one.
  describeTenantIsolation({
    name: 'tenant isolation through PgBouncer (every tenant-owned model)',
    module: AppModule.forRoot(),
    app: () => app,
  });
});

/**
 * The kit must fail when isolation is missing, or its passing runs prove nothing. Each check gets a
 * fresh fixture, since a broken setup really deletes or changes B's row.
 */
describe('isolation kit detects leaks', () => {
  const MODELS = ['ApprovalItem', 'ApiKey'];

  async function runLayer(
    kit: TenantIsolationKit,
    model: string,
    layer: IsolationLayer,
  ): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const check of checksOf(layer)) {
      results.push(await kit.runCheck(check, await kit.createFixture(model)));
    }
    return results;
  }

  describe('a plain PrismaClient as the owner (a superuser: no scoping, no RLS) as tenantClient', () => {
    let owner: PrismaClient;
    let kit: TenantIsolationKit;

    beforeAll(async () => {
      owner = new PrismaClient({ adapter: new PrismaPg({ connectionString: env('DIRECT_URL') }) });
      kit = await TenantIsolationKit.open({
        client: PrismaClient,
        tenantClient: () => owner,
        runtimeUrl: env('DATABASE_URL'),
        adminUrl: env('SYSTEM_DATABASE_URL'),
        models: MODELS,
      });
    });

    afterAll(async () => {
      await kit?.close();
      await owner?.$disconnect();
    });

    it.each(MODELS)('fails every client-layer check on %s', async (model) => {
      const results = await runLayer(kit, model, 'client');

      expect(namesOf(results.filter((r) => r.passed))).toEqual([]);
      expect(results).toHaveLength(checksOf('client').length);
      for (const result of results) {
        expect(result.error).toMatchObject({ name: 'IsolationViolationError', model });
        expect(result.error?.message).toContain(`${model}: [client] ${result.check.name}: `);
      }
    });

    it('says what happened instead', async () => {
      const fixture = await kit.createFixture('ApprovalItem');
      const byName = (name: string) => ISOLATION_CHECKS.find((c) => c.name.startsWith(name))!;

      const findUnique = await kit.runCheck(byName('findUnique'), fixture);
      expect(findUnique.error?.message).toMatch(
        /^ApprovalItem: \[client\] findUnique by B's key returns null: returned B's row \{/,
      );
      const create = await kit.runCheck(byName('create naming'), fixture);
      expect(create.error?.message).toMatch(
        /expected CrossTenantWriteError, but it succeeded and returned \{/,
      );
      const outside = await kit.runCheck(byName('findMany outside'), fixture);
      expect(outside.error?.message).toMatch(
        /expected MissingTenantContextError, but it succeeded/,
      );
    });

    it('still passes the driver and database checks, which do not use the tenant client', async () => {
      for (const layer of ['driver', 'database'] as const) {
        const results = await runLayer(kit, 'ApprovalItem', layer);
        expect(results.filter((r) => !r.passed).map((r) => r.error?.message)).toEqual([]);
      }
    });
  });

  describe('the owner (a superuser, which bypasses RLS) as runtimeUrl', () => {
    let kit: TenantIsolationKit;
    let app: INestApplication;

    beforeAll(async () => {
      app = await createTestApp();
      app.useLogger(['fatal']);
      kit = await TenantIsolationKit.open({
        app: () => app,
        runtimeUrl: env('DIRECT_URL'),
        adminUrl: env('SYSTEM_DATABASE_URL'),
        models: MODELS,
      });
    });

    afterAll(async () => {
      await kit?.close();
      await app?.close();
    });

    it.each(MODELS)(
      'fails every database-layer check on %s but the move, which the immutable key refuses for every role',
      async (model) => {
        const results = await runLayer(kit, model, 'database');

        // keys_are_immutable refuses a change of the tenant column whoever runs it, a superuser
        // too; every check that depends on Row-Level Security fails.
        expect(namesOf(results.filter((r) => r.passed))).toEqual([
          "[database] moving A's row to B fails with 42501 (or 23514 from an immutable key, 0A000 on Citus)",
        ]);
        expect(results).toHaveLength(checksOf('database').length);
      },
    );

    it.each(MODELS)('fails every driver check on %s', async (model) => {
      const results = await runLayer(kit, model, 'driver');

      expect(namesOf(results.filter((r) => r.passed))).toEqual([]);
    });

    it('still passes the client-layer checks of the real tenant client', async () => {
      const results = await runLayer(kit, 'ApprovalItem', 'client');

      expect(results.filter((r) => !r.passed).map((r) => r.error?.message)).toEqual([]);
    });
  });

  describe('the tenant setting secret', () => {
    const open = (settingSecret?: string) =>
      TenantIsolationKit.open({
        client: PrismaClient,
        // Never queried: these kits are opened and closed, no check runs.
        tenantClient: () => ({}) as PrismaClient,
        runtimeUrl: env('DATABASE_URL'),
        adminUrl: env('SYSTEM_DATABASE_URL'),
        ...(settingSecret === undefined ? {} : { settingSecret }),
      });

    it('is required: without settingSecret or TENANT_SETTING_SECRET the kit does not open', async () => {
      const saved = process.env.TENANT_SETTING_SECRET;
      delete process.env.TENANT_SETTING_SECRET;
      try {
        await expect(open()).rejects.toThrow(MissingSettingSecretError);
        await expect(open()).rejects.toThrow(
          'The isolation kit needs the tenant setting secret to sign app.workspace_id for its checks: ' +
            'pass { settingSecret } to describeTenantIsolation() / TenantIsolationKit.open(), set it ' +
            "in the app's PrismaModule.forRoot({ settingSecret }) (read with module or app), or set " +
            'TENANT_SETTING_SECRET',
        );
      } finally {
        process.env.TENANT_SETTING_SECRET = saved;
      }
    });

    it('must be the one the database verifies with: another secret is refused when the kit opens', async () => {
      await expect(open(randomBytes(48).toString('base64url'))).rejects.toThrow(
        SettingNotAcceptedError,
      );
    });

    it('defaults to TENANT_SETTING_SECRET, and an explicit one is used as given', async () => {
      const kit = await open(env('TENANT_SETTING_SECRET'));
      await kit.close();
    });
  });

  it('leaves nothing behind: its workspaces and the users it created are removed on close', async () => {
    const admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: env('SYSTEM_DATABASE_URL') }),
    });
    const unused = new PrismaClient({
      adapter: new PrismaPg({ connectionString: env('DATABASE_URL') }),
    });
    try {
      const usersBefore = await admin.user.count();
      const kit = await TenantIsolationKit.open({
        client: PrismaClient,
        tenantClient: () => unused,
        runtimeUrl: env('DATABASE_URL'),
        adminUrl: env('SYSTEM_DATABASE_URL'),
      });
      const { tenantA, tenantB } = kit;
      for (const model of kit.models) await kit.createFixture(model);
      await expect(
        admin.workspaceMember.count({ where: { workspaceId: tenantA } }),
      ).resolves.toBeGreaterThan(0);
      await kit.close();

      await expect(
        admin.workspace.count({ where: { id: { in: [tenantA, tenantB] } } }),
      ).resolves.toBe(0);
      await expect(
        admin.approvalItem.count({ where: { workspaceId: { in: [tenantA, tenantB] } } }),
      ).resolves.toBe(0);
      await expect(admin.user.count()).resolves.toBe(usersBefore);
    } finally {
      await Promise.all([admin.$disconnect(), unused.$disconnect()]);
    }
  });
});

/** A framework that records what the kit registers, to prove it registers nothing on failure. */
function recordingFramework(): { framework: TestFramework; registered: string[] } {
  const registered: string[] = [];
  return {
    registered,
    framework: {
      describe: (name, fn) => {
        registered.push(`describe ${name}`);
        fn();
      },
      it: (name) => registered.push(`it ${name}`),
      beforeAll: () => registered.push('beforeAll'),
      afterAll: () => registered.push('afterAll'),
    },
  };
}

describe('isolation kit options fail loudly, when the tests are collected', () => {
  const notCalled = () => {
    throw new Error('not called');
  };

  it('zero tenant models (a tenantField no model has): NoTenantModelsError, no test registered', () => {
    const { framework, registered } = recordingFramework();
    const collect = () =>
      describeTenantIsolation({
        client: PrismaClient,
        tenantField: 'tenantId',
        tenantClient: notCalled,
        framework,
      });

    expect(collect).toThrow(NoTenantModelsError);
    expect(collect).toThrow(
      "The isolation kit found no tenant-owned model to check: no model of the app's Prisma schema " +
        '(User, Account, Session, VerificationToken, Workspace, WorkspaceMember, WorkspaceInvitation, ' +
        'ApiKey, AIProviderConfig, Project, ApprovalItem, ApprovalComment, Webhook, WebhookDelivery, ' +
        'AuditLog) has the scalar field "tenantId" (tenantField, from the kit\'s option). It would ' +
        'generate no test. Give the kit the options of the app under test: ' +
        'describeTenantIsolation({ module: AppModule, app: () => app }) reads tenantField',
    );
    expect(registered).toEqual([]);
  });

  it("zero tenant models with the tenantField of the app's module: the message says where it came from", () => {
    expect(() =>
      isolationModelsOf({ module: AppModule.forRoot({ tenantField: 'orgId' }) }),
    ).toThrow('"orgId" (tenantField, from the PrismaModule.forRoot() options of AppModule)');
  });

  it('an empty models list: NoTenantModelsError', () => {
    expect(() => isolationModelsOf({ client: PrismaClient, models: [] })).toThrow(
      new NoTenantModelsError(
        'models is an empty list: leave it out to check every tenant-owned model.',
      ),
    );
  });

  it('a model that does not exist, or is not tenant-owned: IsolationKitOptionsError', () => {
    expect(() => isolationModelsOf({ module: AppModule.forRoot(), models: ['Nope'] })).toThrow(
      IsolationKitOptionsError,
    );
    expect(() => isolationModelsOf({ module: AppModule.forRoot(), models: ['Nope'] })).toThrow(
      'The isolation kit\'s models option names "Nope", which is not a model of the app\'s Prisma schema (User, ',
    );
    expect(() => isolationModelsOf({ module: AppModule.forRoot(), models: ['User'] })).toThrow(
      'The isolation kit\'s models option names "User", which is not tenant-owned (it has no ' +
        '"workspaceId" field); tenant-owned: WorkspaceMember, ',
    );
  });

  it('a tenantRootModel or tenantModels entry the schema lacks: IsolationKitOptionsError', () => {
    expect(() => isolationModelsOf({ client: PrismaClient, tenantRootModel: 'Tenant' })).toThrow(
      IsolationKitOptionsError,
    );
    expect(() => isolationModelsOf({ client: PrismaClient, tenantRootModel: 'Tenant' })).toThrow(
      'tenantRootModel "Tenant" is not a model of the Prisma schema; name the model whose id is ' +
        "the tenant id, or pass null when there is none. (isolation kit options from the kit's " +
        'options)',
    );
    expect(() =>
      isolationModelsOf({ module: AppModule.forRoot({ tenantModels: ['Project', 'Task'] }) }),
    ).toThrow('tenantModels names "Task", which is not a model of the Prisma schema.');
  });

  it('app alone cannot list the models when the tests are collected: it says to pass module or client', () => {
    expect(() =>
      describeTenantIsolation({ app: notCalled, framework: recordingFramework().framework }),
    ).toThrow(
      'also pass module: AppModule (the module that imports PrismaModule.forRoot()), or client: PrismaClient',
    );
  });

  it('a module without PrismaModule, or with forRootAsync(): IsolationKitOptionsError with the fix', () => {
    @Module({})
    class EmptyModule {}
    @Module({ imports: [PrismaModule.forRootAsync({ useFactory: () => ({}) })] })
    class AsyncModule {}

    expect(() => isolationModelsOf({ module: EmptyModule })).toThrow(
      'The isolation kit found no PrismaModule.forRoot() in EmptyModule or its imports',
    );
    expect(() => isolationModelsOf({ module: AsyncModule })).toThrow(
      'AsyncModule registers PrismaModule with forRootAsync(): its options exist only once the app is built',
    );
    expect(isolationModelsOf({ module: AsyncModule, client: PrismaClient })).toHaveLength(10);
  });
});

/**
 * An app whose PrismaModule is registered with forRootAsync(): the kit, opened with the app alone,
 * takes the client class, URLs and setting secret the app resolved (none are given to the kit).
 */
describe('isolation kit opened from an app with PrismaModule.forRootAsync()', () => {
  let app: INestApplication;
  let kit: TenantIsolationKit | undefined;
  /** Options of every instance of the app's client class, in order. */
  const built: unknown[] = [];
  class AppPrismaClient extends PrismaClient {
    constructor(...args: ConstructorParameters<typeof PrismaClient>) {
      super(...args);
      built.push(args[0]);
    }
  }

  beforeAll(async () => {
    @Module({
      imports: [
        ClsModule.forRoot({ global: true, middleware: { mount: true } }),
        PrismaModule.forRootAsync({
          isGlobal: true,
          useFactory: () =>
            Promise.resolve({
              client: AppPrismaClient,
              url: env('DATABASE_URL'),
              systemUrl: env('SYSTEM_DATABASE_URL'),
              settingSecret: env('TENANT_SETTING_SECRET'),
              log: [],
            }),
        }),
      ],
    })
    class AsyncAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AsyncAppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['fatal'] });
    await app.init();
  });

  afterAll(async () => {
    await kit?.close();
    await app?.close();
  });

  it("takes the app's client, URLs and secret, and its checks pass", async () => {
    expect(built).toHaveLength(1); // the app's PrismaConnection
    kit = await TenantIsolationKit.open({ app: () => app, models: ['ApprovalItem'] });

    // The kit's driver and admin clients are the app's class; the schema is the app's (no instance).
    expect(built).toHaveLength(3);
    expect(kit.models).toEqual(['ApprovalItem']);
    const fixture = await kit.createFixture('ApprovalItem');
    const results: CheckResult[] = [];
    for (const check of ISOLATION_CHECKS) results.push(await kit.runCheck(check, fixture));
    expect(results.filter((r) => !r.passed).map((r) => r.error?.message)).toEqual([]);
  });

  it('describeTenantIsolation() with this app alone says to pass client, when the tests are collected', () => {
    @Module({ imports: [PrismaModule.forRootAsync({ useFactory: () => ({}) })] })
    class AsyncOnly {}
    expect(() =>
      describeTenantIsolation({
        module: AsyncOnly,
        app: () => app,
        framework: recordingFramework().framework,
      }),
    ).toThrow(IsolationKitOptionsError);
  });
});

/** The kit's SQL uses the configured names (sql option): the setting and the tenant function. */
describe('isolation kit SQL names', () => {
  const open = (sql: object) =>
    TenantIsolationKit.open({
      client: PrismaClient,
      tenantClient: () => ({}) as PrismaClient,
      runtimeUrl: env('DATABASE_URL'),
      adminUrl: env('SYSTEM_DATABASE_URL'),
      sql,
    });

  it('checks its signed setting with sql.tenantFunction', async () => {
    const owner = new Client({ connectionString: env('DIRECT_URL') });
    await owner.connect();
    try {
      await owner.query(
        `CREATE FUNCTION public.kit_spec_tenant() RETURNS uuid LANGUAGE sql STABLE
           AS 'SELECT public.current_workspace_id()'`,
      );
      await owner.query('GRANT EXECUTE ON FUNCTION public.kit_spec_tenant() TO app_runtime');
      const kit = await open({ tenantFunction: 'kit_spec_tenant' });
      expect(kit.sql.tenantFunction).toBe('kit_spec_tenant');
      await kit.close();
      await expect(open({ tenantFunction: 'no_such_tenant_fn' })).rejects.toThrow(
        'function public.no_such_tenant_fn() does not exist',
      );
    } finally {
      await owner.query('DROP FUNCTION IF EXISTS public.kit_spec_tenant()');
      await owner.end();
    }
  });

  it("takes the sql names of the app module's PrismaModule when the kit has none", async () => {
    await expect(
      TenantIsolationKit.open({
        module: AppModule.forRoot({ sql: { tenantFunction: 'module_tenant_fn' } }),
        tenantClient: () => ({}) as PrismaClient,
      }),
    ).rejects.toThrow('function public.module_tenant_fn() does not exist');
  });

  it('signs sql.setting: a setting the database does not read is refused, naming the function', async () => {
    await expect(open({ setting: 'app.other_tenant' })).rejects.toThrow(
      new SettingNotAcceptedError(),
    );
    await expect(open({ setting: 'app.other_tenant' })).rejects.toThrow(
      '(public.current_workspace_id() is NULL for it on runtimeUrl)',
    );
  });
});
