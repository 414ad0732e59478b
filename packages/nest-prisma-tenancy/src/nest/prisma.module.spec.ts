import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import { DatabaseUnreachableError } from '../core/errors/database-unreachable.error';
import { RowLevelSecurityNotEnforcedError } from '../core/errors/row-level-security-not-enforced.error';
import { SettingKeyMismatchError } from '../core/errors/setting-key-mismatch.error';
import type {
  PrismaModuleOptions,
  PrismaOptionsFactory,
} from './interfaces/prisma-module-options.interface';
import { TENANT_PRISMA_CLIENT } from './prisma.constants';
import { PrismaModule } from './prisma.module';
import { PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { InvalidPrismaModuleOptionsError } from './prisma-options';
import { PrismaConnection, PrismaService, UnscopedPrismaService } from './prisma.service';
import { MissingJwtKeyError } from './tenancy/token-verifier';
import { runInTenant, type TenantPrismaClient } from '../core/client/tenant-extension';

const SECRET = 'prisma-module-spec-secret-0123456789-abcdef';

/** Options every variant resolves to: the runtime role of this run's test database. */
const options = (): PrismaModuleOptions => ({
  url: process.env.DATABASE_URL,
  jwt: { secret: SECRET },
  log: [],
  connectRetries: 1,
});

let admin: PrismaClient;
const workspaces: string[] = [];

/** A workspace created as app_admin, to scope the tenant client to. */
async function newWorkspace(): Promise<string> {
  const id = randomUUID();
  await admin.workspace.create({ data: { id, name: 'Module spec', slug: `module-spec-${id}` } });
  workspaces.push(id);
  return id;
}

/** Compiles and inits a testing module around `prismaModule` (with nestjs-cls, as the docs say). */
async function start(
  prismaModule: DynamicModule,
  ...more: DynamicModule[]
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [ClsModule.forRoot({ global: true }), prismaModule, ...more],
  }).compile();
  moduleRef.useLogger(false);
  return moduleRef.init();
}

/**
 * Closes a module whose init() rejected. Nest's close() re-throws the init failure (it awaits the
 * initialization promise first), so the client's pool is released through the shutdown hook.
 */
async function closeFailed(moduleRef: TestingModule): Promise<void> {
  await expect(moduleRef.close()).rejects.toBeInstanceOf(Error);
  await moduleRef.get(PrismaConnection).onApplicationShutdown();
}

/** What every variant must provide: a healthy client, and PrismaService scoping to the tenant. */
async function expectWorkingModule(moduleRef: TestingModule): Promise<void> {
  await expect(moduleRef.get(UnscopedPrismaService).isHealthy()).resolves.toBe(true);

  const prisma = moduleRef.get(PrismaService);
  expect(moduleRef.get(TENANT_PRISMA_CLIENT)).toBe(prisma);
  const mine = await newWorkspace();
  const other = await newWorkspace();
  await admin.approvalItem.create({ data: { workspaceId: other, title: 'Not mine' } });

  const { created, seen } = await runInTenant(mine, async () => {
    const created = await prisma.approvalItem.create({ data: { title: 'Mine' } });
    const seen = await prisma.approvalItem.findMany({
      select: { id: true, workspaceId: true, title: true },
    });
    return { created, seen };
  });

  expect(created.workspaceId).toBe(mine);
  expect(seen).toEqual([{ id: created.id, workspaceId: mine, title: 'Mine' }]);
}

beforeAll(() => {
  admin = new PrismaClient({
    adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL }),
  });
});

afterAll(async () => {
  await admin.workspace.deleteMany({ where: { id: { in: workspaces } } });
  await admin.$disconnect();
});

describe('PrismaModule.forRoot()', () => {
  it('connects, verifies Row-Level Security and provides a scoping tenant client', async () => {
    const moduleRef = await start(PrismaModule.forRoot(options()));
    try {
      await expectWorkingModule(moduleRef);
      expect(moduleRef.get(PRISMA_MODULE_OPTIONS)).toEqual(options());
    } finally {
      await moduleRef.close();
    }
  });
});

describe('PrismaModule.forRootAsync()', () => {
  it('with useFactory and inject', async () => {
    const URL_TOKEN = Symbol('URL');
    @Module({
      providers: [{ provide: URL_TOKEN, useValue: process.env.DATABASE_URL }],
      exports: [URL_TOKEN],
    })
    class ConfigModule {}
    const factory = jest.fn((url: string): PrismaModuleOptions => ({ ...options(), url }));

    const moduleRef = await start(
      PrismaModule.forRootAsync({
        imports: [ConfigModule],
        inject: [URL_TOKEN],
        useFactory: factory,
      }),
    );
    try {
      expect(factory).toHaveBeenCalledTimes(1);
      expect(factory).toHaveBeenCalledWith(process.env.DATABASE_URL);
      await expectWorkingModule(moduleRef);
    } finally {
      await moduleRef.close();
    }
  });

  it('with an async useFactory', async () => {
    const moduleRef = await start(
      PrismaModule.forRootAsync({
        useFactory: async () => {
          await new Promise((resolve) => setImmediate(resolve));
          return options();
        },
      }),
    );
    try {
      await expectWorkingModule(moduleRef);
    } finally {
      await moduleRef.close();
    }
  });

  it('with useClass (a PrismaOptionsFactory)', async () => {
    @Injectable()
    class PrismaConfig implements PrismaOptionsFactory {
      createPrismaOptions(): PrismaModuleOptions {
        return options();
      }
    }

    const moduleRef = await start(PrismaModule.forRootAsync({ useClass: PrismaConfig }));
    try {
      await expectWorkingModule(moduleRef);
      expect(moduleRef.get(PRISMA_MODULE_OPTIONS)).toEqual(options());
    } finally {
      await moduleRef.close();
    }
  });

  it('with useExisting and imports', async () => {
    @Injectable()
    class SharedPrismaConfig implements PrismaOptionsFactory {
      calls = 0;
      createPrismaOptions(): Promise<PrismaModuleOptions> {
        this.calls++;
        return Promise.resolve(options());
      }
    }
    @Module({ providers: [SharedPrismaConfig], exports: [SharedPrismaConfig] })
    class SharedConfigModule {}

    const moduleRef = await start(
      PrismaModule.forRootAsync({ imports: [SharedConfigModule], useExisting: SharedPrismaConfig }),
    );
    try {
      await expectWorkingModule(moduleRef);
      // useExisting reuses the imported instance rather than creating one.
      expect(moduleRef.get(SharedPrismaConfig).calls).toBe(1);
    } finally {
      await moduleRef.close();
    }
  });
});

describe('isGlobal', () => {
  @Injectable()
  class Consumer {
    constructor(
      readonly service: PrismaService,
      @Inject(TENANT_PRISMA_CLIENT) readonly tenant: TenantPrismaClient,
    ) {}
  }
  @Module({ providers: [Consumer], exports: [Consumer] })
  class FeatureModule {}

  it('isGlobal: true makes PrismaService and the tenant client visible to another module', async () => {
    const moduleRef = await start(PrismaModule.forRoot({ ...options(), isGlobal: true }), {
      module: FeatureModule,
    });
    try {
      const consumer = moduleRef.get(Consumer);
      expect(consumer.service).toBe(moduleRef.get(PrismaService));
      expect(consumer.tenant).toBe(moduleRef.get(TENANT_PRISMA_CLIENT));
      await expect(consumer.service.isHealthy()).resolves.toBe(true);
    } finally {
      await moduleRef.close();
    }
  });

  it('without isGlobal, another module cannot inject them', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot(options()),
        FeatureModule,
      ],
    })
      .setLogger({ log() {}, error() {}, warn() {} })
      .compile();

    await expect(compiling).rejects.toThrow(/Nest can't resolve dependencies of the Consumer/);
  });
});

describe('start-up checks', () => {
  it("rlsCheck: 'error' as the owner (a superuser) refuses to start, naming SUPERUSER", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot({ ...options(), url: process.env.DIRECT_URL, rlsCheck: 'error' }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    try {
      const failure: unknown = await moduleRef.init().catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(RowLevelSecurityNotEnforcedError);
      expect((failure as Error).name).toBe('RowLevelSecurityNotEnforcedError');
      expect((failure as Error).message).toContain(
        'is a SUPERUSER, which ignores Row-Level Security',
      );
      expect((failure as RowLevelSecurityNotEnforcedError).problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^the role \S+ is a SUPERUSER/)]),
      );
    } finally {
      await closeFailed(moduleRef);
    }
  });

  it('a settingSecret other than the one the database holds refuses to start (SettingKeyMismatchError)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot({
          ...options(),
          settingSecret: 'not-the-secret-of-this-database-0123456789abcdef',
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    try {
      const failure: unknown = await moduleRef.init().catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(SettingKeyMismatchError);
      expect((failure as Error).message).toContain(
        'Every app that shares the database must use the same settingSecret / TENANT_SETTING_SECRET.',
      );
    } finally {
      await closeFailed(moduleRef);
    }
  });

  it("rlsCheck: 'warn' as the owner starts", async () => {
    const moduleRef = await start(
      PrismaModule.forRoot({ ...options(), url: process.env.DIRECT_URL, rlsCheck: 'warn' }),
    );
    try {
      await expect(moduleRef.get(PrismaService).isHealthy()).resolves.toBe(true);
    } finally {
      await moduleRef.close();
    }
  });

  it('an unreachable url rejects with DatabaseUnreachableError after the configured attempts', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot({
          ...options(),
          url: 'postgresql://app_runtime@127.0.0.1:1/x',
          connectRetries: 2,
          connectRetryDelayMs: 10,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    try {
      const failure: unknown = await moduleRef.init().catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(DatabaseUnreachableError);
      expect((failure as Error).message).toContain('Cannot reach PostgreSQL at 127.0.0.1:1');
      expect((failure as Error).message).toContain('after 2 attempts');
      expect((failure as DatabaseUnreachableError).variable).toBe('DATABASE_URL');
    } finally {
      await closeFailed(moduleRef);
    }
  });

  /**
   * BUG (src/database/database-unreachable.error.ts, connectionFailureReason): through the Prisma
   * driver adapter a refused connection arrives as a P2010 PrismaClientKnownRequestError whose
   * message starts with a newline (meta.driverAdapterError.cause.kind = 'DatabaseNotReachable'),
   * so the "first line" taken as the reason is empty and the start-up error reads
   * "... after 2 attempts: unknown error." instead of naming the cause (assertReachable says
   * "connection refused" for the same URL). Marked `failing`; remove `.failing` once fixed.
   */
  it('the unreachable error names the cause, not "unknown error"', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot({
          ...options(),
          url: 'postgresql://app_runtime@127.0.0.1:1/x',
          connectRetries: 1,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    try {
      const failure: unknown = await moduleRef.init().catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(DatabaseUnreachableError);
      // Observed: reason === 'unknown error'.
      expect((failure as DatabaseUnreachableError).reason).toMatch(
        /connection refused|Can't reach database server/,
      );
    } finally {
      await closeFailed(moduleRef);
    }
  });
});

describe('options validation', () => {
  /** Runs `fn` with the given environment variables removed, restoring them afterwards. */
  async function withoutEnv<T>(names: string[], fn: () => Promise<T>): Promise<T> {
    const saved = names.map((name) => [name, process.env[name]] as const);
    for (const name of names) delete process.env[name];
    try {
      return await fn();
    } finally {
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
    }
  }

  const compile = (moduleOptions: PrismaModuleOptions) =>
    Test.createTestingModule({
      imports: [ClsModule.forRoot({ global: true }), PrismaModule.forRoot(moduleOptions)],
    })
      .setLogger({ log() {}, error() {}, warn() {} })
      .compile();

  it('without url and DATABASE_URL, compiling fails with InvalidPrismaModuleOptionsError', async () => {
    const failure = await withoutEnv(['DATABASE_URL'], () =>
      compile({ jwt: { secret: SECRET }, log: [] }).catch((error: unknown) => error),
    );

    expect(failure).toBeInstanceOf(InvalidPrismaModuleOptionsError);
    expect((failure as Error).message).toBe(
      'PrismaModule has no connection URL: pass { url } to PrismaModule.forRoot()/forRootAsync() or ' +
        'set DATABASE_URL, e.g. DATABASE_URL=postgresql://app_runtime:secret@localhost:6432/app',
    );
  });

  it('without any JWT key, compiling fails with MissingJwtKeyError', async () => {
    const failure = await withoutEnv(['JWT_SECRET', 'JWT_PUBLIC_KEY'], () =>
      compile({ url: process.env.DATABASE_URL, log: [] }).catch((error: unknown) => error),
    );

    expect(failure).toBeInstanceOf(MissingJwtKeyError);
  });

  it('a tenantModels entry that is not in the schema fails compiling, naming it', async () => {
    await expect(
      compile({ ...options(), tenantModels: ['ApprovalItem', 'NotAModel'] }),
    ).rejects.toThrow(
      new InvalidPrismaModuleOptionsError(
        'tenantModels names "NotAModel", which is not a model of the Prisma schema.',
      ),
    );
  });

  /**
   * BUG (src/prisma/tenant/tenant-models.ts buildTenantModelMap, with
   * interfaces/prisma-module-options.interface.ts): the `tenantModels` JSDoc promises "Listing them
   * explicitly makes start-up fail if the schema and the list disagree", but a list that leaves out
   * models that have `workspaceId` (here Project and the other eight) starts fine; those models
   * are then not scoped by the client (project.findMany() with no tenant runs instead of throwing
   * MissingTenantContextError) and the RLS start-up check skips their tables. Observed: init()
   * resolves. Marked `failing`; remove `.failing` once fixed.
   */
  it('a tenantModels list that omits a model with workspaceId fails start-up, naming them', async () => {
    const failure: unknown = await compile({
      ...options(),
      tenantModels: ['ApprovalItem', 'WorkspaceMember'],
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(InvalidPrismaModuleOptionsError);
    expect((failure as Error).message).toBe(
      'tenantModels leaves out WorkspaceInvitation, ApiKey, AIProviderConfig, Project, ' +
        'ApprovalComment, Webhook, WebhookDelivery, AuditLog, which have the tenant field ' +
        '"workspaceId". Add them to tenantModels (or leave the option out to derive the list from ' +
        'the schema).',
    );
  });
});

describe('lifecycle', () => {
  it('connects, checks and disconnects exactly once, on the one client both services share', async () => {
    const init = jest.spyOn(PrismaConnection.prototype, 'onModuleInit');
    const shutdown = jest.spyOn(PrismaConnection.prototype, 'onApplicationShutdown');
    try {
      const moduleRef = await start(PrismaModule.forRoot(options()));
      const scoped = moduleRef.get(PrismaService);
      const unscoped = moduleRef.get(UnscopedPrismaService);
      // Neither client has hooks of its own for Nest to call a second time.
      for (const client of [scoped, unscoped] as unknown as Record<string, unknown>[]) {
        expect(client.onModuleInit).toBeUndefined();
        expect(client.onApplicationShutdown).toBeUndefined();
      }
      expect(scoped).not.toBe(unscoped);
      expect(scoped.tenantPool).toBe(unscoped.tenantPool);
      await moduleRef.close();

      expect(init).toHaveBeenCalledTimes(1);
      expect(shutdown).toHaveBeenCalledTimes(1);
    } finally {
      init.mockRestore();
      shutdown.mockRestore();
    }
  });
});
