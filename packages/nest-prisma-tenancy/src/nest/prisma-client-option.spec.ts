import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
// The demo's generated client, passed explicitly as an app with its own output path would.
import { Prisma, PrismaClient } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import { MissingTenantContextError } from '../core/errors/missing-tenant-context.error';
import { UnsupportedPrismaVersionError } from '../core/errors/unsupported-prisma-version.error';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';
import { InjectTenantPrisma, InjectUnscopedPrisma } from './prisma.decorators';
import { TENANT_PRISMA_CLIENT } from './prisma.constants';
import { PrismaModule } from './prisma.module';
import { InvalidPrismaModuleOptionsError } from './prisma-options';
import { PrismaService, UnscopedPrismaService } from './prisma.service';
import { runInTenant } from '../core/client/tenant-extension';

const options = (): PrismaModuleOptions => ({
  client: PrismaClient,
  url: process.env.DATABASE_URL,
  jwt: { secret: 'prisma-client-option-spec-secret-0123456789' },
  log: [],
  connectRetries: 1,
});

/** A feature service as an app writes it: PrismaService injected by type. */
@Injectable()
class ItemsService {
  constructor(
    readonly prisma: PrismaService,
    @InjectTenantPrisma() readonly alias: PrismaService,
    @InjectUnscopedPrisma() readonly unscoped: UnscopedPrismaService,
  ) {}
}
@Module({ providers: [ItemsService], exports: [ItemsService] })
class ItemsModule {}

let admin: PrismaClient;
const workspaces: string[] = [];

async function newWorkspace(): Promise<string> {
  const id = randomUUID();
  await admin.workspace.create({ data: { id, name: 'Client spec', slug: `client-spec-${id}` } });
  workspaces.push(id);
  return id;
}

const compile = (moduleOptions: PrismaModuleOptions) =>
  Test.createTestingModule({
    imports: [ClsModule.forRoot({ global: true }), PrismaModule.forRoot(moduleOptions)],
  })
    .setLogger({ log() {}, error() {}, warn() {} })
    .compile();

beforeAll(() => {
  admin = new PrismaClient({
    adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL }),
  });
});

afterAll(async () => {
  await admin.workspace.deleteMany({ where: { id: { in: workspaces } } });
  await admin.$disconnect();
});

describe('PrismaModule.forRoot({ client: PrismaClient })', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRoot({ ...options(), prismaNamespace: Prisma, isGlobal: true }),
        ItemsModule,
      ],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef.close();
  });

  it('injects the tenant-scoped client as PrismaService, also under @InjectTenantPrisma()', () => {
    const items = moduleRef.get(ItemsService);
    expect(items.prisma).toBe(moduleRef.get(PrismaService));
    expect(items.alias).toBe(items.prisma);
    expect(moduleRef.get(TENANT_PRISMA_CLIENT)).toBe(items.prisma);
    expect(items.unscoped).not.toBe(items.prisma);
  });

  it('refuses a query without a tenant with MissingTenantContextError', async () => {
    const { prisma } = moduleRef.get(ItemsService);
    await expect(prisma.approvalItem.findMany()).rejects.toBeInstanceOf(MissingTenantContextError);
  });

  it('in runInTenant sees only its tenant, and fills the tenant in on create', async () => {
    const { prisma } = moduleRef.get(ItemsService);
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
  });

  it('keeps isHealthy() and tenantPool reachable, on both services, without a tenant', async () => {
    const { prisma, unscoped } = moduleRef.get(ItemsService);
    await expect(unscoped.isHealthy()).resolves.toBe(true);
    await expect(prisma.isHealthy()).resolves.toBe(true);
    expect(prisma.tenantPool).toBe(unscoped.tenantPool);
  });

  it('the unscoped client is still under Row-Level Security: no tenant, no rows', async () => {
    const { unscoped } = moduleRef.get(ItemsService);
    const other = await newWorkspace();
    await admin.approvalItem.create({ data: { workspaceId: other, title: 'Hidden' } });
    await expect(
      unscoped.approvalItem.findMany({ where: { workspaceId: other } }),
    ).resolves.toEqual([]);
  });
});

describe('PrismaModule.forRootAsync({ useFactory: () => ({ client: PrismaClient, ... }) })', () => {
  it('builds the passed client class and scopes PrismaService to the tenant', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true }),
        PrismaModule.forRootAsync({ useFactory: () => Promise.resolve(options()) }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    try {
      const prisma = moduleRef.get(PrismaService);
      await expect(prisma.project.count()).rejects.toBeInstanceOf(MissingTenantContextError);
      await expect(runInTenant(await newWorkspace(), () => prisma.project.count())).resolves.toBe(
        0,
      );
    } finally {
      await moduleRef.close();
    }
  });
});

describe('a wrong client option fails compiling with InvalidPrismaModuleOptionsError', () => {
  const fails = async (client: unknown, message: RegExp) => {
    const failure: unknown = await compile({
      ...options(),
      client: client as PrismaModuleOptions['client'],
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidPrismaModuleOptionsError);
    expect((failure as Error).message).toMatch(message);
  };

  it('not a class', async () => {
    await fails(
      { PrismaClient },
      /^The client option must be your generated PrismaClient class \(got an object Object\)\. Pass your generated client class, e\.g\. `PrismaModule\.forRoot\(\{ client: PrismaClient \}\)`/,
    );
  });

  it('an instance instead of the class', async () => {
    const instance = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
    });
    await fails(instance, /It is a client instance: pass the class itself/);
  });

  it('a class that is not a Prisma Client', async () => {
    class NotPrisma {}
    await fails(
      NotPrisma,
      /^The client is not a Prisma Client instance \(got an object NotPrisma\)/,
    );
  });

  it('a client generated without engineType "client"', async () => {
    class LibraryEngineClient {
      _clientVersion = '6.19.3';
      _engineConfig = { inlineSchema: '', compilerWasm: undefined };
      $extends() {}
    }
    await fails(
      LibraryEngineClient,
      /^The Prisma Client was generated without driver adapter support \(no query compiler\): add `engineType = "client"` to its generator block/,
    );
  });

  it.each(['5.22.0', '8.0.0'])(
    'a Prisma %s client: UnsupportedPrismaVersionError at start-up',
    async (version) => {
      class OtherMajorClient {
        _clientVersion = version;
        _engineConfig = { inlineSchema: '', compilerWasm: {} };
        $extends() {}
      }
      const failure: unknown = await compile({
        ...options(),
        client: OtherMajorClient as unknown as PrismaModuleOptions['client'],
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UnsupportedPrismaVersionError);
      expect((failure as Error).message).toBe(
        `This Prisma Client is not supported by nest-prisma-tenancy (it is version ${version}). ` +
          'Install @prisma/client and prisma ^6.19.0 || ^7.0.0 (6.19.x or 7.x, the versions this ' +
          'library is tested with) and run `prisma generate`.',
      );
    },
  );

  it('a client class that refuses the driver adapter', async () => {
    class NoAdapterClient {
      constructor() {
        throw new Error('Unknown property adapter provided to PrismaClient constructor.');
      }
    }
    await fails(NoAdapterClient, /^The Prisma Client class does not accept a driver adapter/);
  });
});

describe('tenant models', () => {
  it('a tenantField no model has fails compiling: no tenant models found', async () => {
    const failure: unknown = await compile({
      ...options(),
      tenantField: 'organizationId',
      verifyMembership: false,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(InvalidPrismaModuleOptionsError);
    expect((failure as Error).message).toBe(
      'No tenant models found: no model of the Prisma schema has the scalar field "organizationId" ' +
        '(the tenantField), so the tenant client would scope nothing. Set tenantField to the field ' +
        'that holds the tenant id in your tenant-owned models, e.g. PrismaModule.forRoot({ ' +
        'tenantField: \'tenantId\' }), or add "organizationId" to them and run `prisma generate`.',
    );
  });
});
