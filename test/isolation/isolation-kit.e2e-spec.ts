import type { INestApplication } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { randomBytes } from 'node:crypto';
import { tenantOwnedModels } from '../../packages/nest-prisma-tenancy/src/testing/tenant-schema.catalog';
import {
  describeTenantIsolation,
  ISOLATION_CHECKS,
  MissingSettingSecretError,
  SettingNotAcceptedError,
  TenantIsolationKit,
  type CheckResult,
  type IsolationLayer,
} from 'nest-prisma-tenancy/testing';
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

  it('covers all 10 tenant-owned models of the schema', () => {
    expect(tenantOwnedModels({})).toEqual([
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

  describeTenantIsolation({
    name: 'tenant isolation (every tenant-owned model)',
    app: () => app,
    runtimeUrl: () => env('DATABASE_URL'),
    adminUrl: () => env('SYSTEM_DATABASE_URL'),
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

  describeTenantIsolation({
    name: 'tenant isolation through PgBouncer (every tenant-owned model)',
    app: () => app,
    runtimeUrl: () => pooledUrl,
    adminUrl: () => env('SYSTEM_DATABASE_URL'),
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
          "[database] moving A's row to B fails with 42501 (or 23514 from an immutable key)",
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
          'pass { settingSecret } to describeTenantIsolation() / TenantIsolationKit.open(), or set TENANT_SETTING_SECRET',
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

  it('refuses a model that is not tenant-owned, when the tests are collected', () => {
    expect(() =>
      describeTenantIsolation({
        tenantClient: () => {
          throw new Error('not called');
        },
        runtimeUrl: 'postgresql://unused',
        adminUrl: 'postgresql://unused',
        models: ['User'],
      }),
    ).toThrow('describeTenantIsolation: model "User" is not tenant-owned');
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
