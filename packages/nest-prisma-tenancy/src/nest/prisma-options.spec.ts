import { DEFAULT_SQL_NAMES } from '../core/sql/tenancy-sql-names';
import { createTenantAdapter } from '../core/client/tenant-extension';
import { InvalidPrismaModuleOptionsError, resolvePrismaOptions } from './prisma-options';

const SECRET = 'a-setting-secret-of-at-least-32-characters';
const URL = 'postgresql://org_runtime@127.0.0.1:5432/unused';

describe('PrismaModule option sql', () => {
  it('defaults to DEFAULT_SQL_NAMES and applies the given names', () => {
    expect(resolvePrismaOptions({ url: URL }, {}).sql).toEqual(DEFAULT_SQL_NAMES);
    expect(
      resolvePrismaOptions(
        { url: URL, sql: { setting: 'app.org_id', runtimeRole: 'org_runtime' } },
        {},
      ).sql,
    ).toEqual({ ...DEFAULT_SQL_NAMES, setting: 'app.org_id', runtimeRole: 'org_runtime' });
  });

  it('refuses a bad name with InvalidPrismaModuleOptionsError naming the option', () => {
    expect(() =>
      resolvePrismaOptions({ url: URL, sql: { tenantFunction: 'current_org_id()' } }, {}),
    ).toThrow(
      new InvalidPrismaModuleOptionsError(
        'sql.tenantFunction must be a lower-case SQL identifier (letters, digits, underscore; at most 63); got "current_org_id()".',
      ),
    );
  });

  type PoolClient = new () => {
    beginText: string;
    claimText: string;
    settingName: string;
  };

  it('reaches the tenant pool, which pins the configured setting in every transaction', async () => {
    const factory = createTenantAdapter(URL, {
      settingSecret: SECRET,
      sql: { setting: 'app.org_id' },
    });
    try {
      expect(factory.pool.sql.setting).toBe('app.org_id');
      const Client = (factory.pool.options as unknown as { Client: PoolClient }).Client;
      const client = new Client();
      expect(client.beginText).toMatch(/; SET LOCAL app\.org_id = ''$/);
      expect(client.claimText).toBe("SELECT pg_catalog.set_config('app.org_id', $1, true)");
      expect(client.settingName).toBe('app.org_id');
    } finally {
      await factory.pool.end();
    }
  });

  it('reaches the set_local mode, which sets the configured setting', async () => {
    const factory = createTenantAdapter(URL, {
      settingSecret: SECRET,
      sql: { setting: 'app.org_id' },
      settingMode: 'set_local',
    });
    try {
      const Client = (factory.pool.options as unknown as { Client: PoolClient }).Client;
      expect(factory.pool.settingMode).toBe('set_local');
      expect(new Client().settingName).toBe('app.org_id');
    } finally {
      await factory.pool.end();
    }
  });
});

describe('PrismaModule option settingMaxAgeSeconds', () => {
  it('defaults to 300 and keeps a whole number from 60 to 86400', () => {
    expect(resolvePrismaOptions({}).settingMaxAgeSeconds).toBe(300);
    expect(resolvePrismaOptions({ settingMaxAgeSeconds: 60 }).settingMaxAgeSeconds).toBe(60);
    expect(resolvePrismaOptions({ settingMaxAgeSeconds: 86_400 }).settingMaxAgeSeconds).toBe(
      86_400,
    );
  });

  it.each([5, 59, 86_401, 90.5, Number.NaN])(
    'refuses %p with InvalidPrismaModuleOptionsError (the signer reuses a value for 20 s)',
    (value) => {
      expect(() => resolvePrismaOptions({ settingMaxAgeSeconds: value })).toThrow(
        InvalidPrismaModuleOptionsError,
      );
      expect(() => resolvePrismaOptions({ settingMaxAgeSeconds: value })).toThrow(
        /settingMaxAgeSeconds must be a whole number of seconds from 60 to 86400/,
      );
    },
  );
});
