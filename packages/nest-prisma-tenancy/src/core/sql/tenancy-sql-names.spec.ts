import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';
import { sqlNameFlag } from '../errors/sql-names-mismatch.error';
import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  resolveSqlNames,
  settingPrefix,
} from './tenancy-sql-names';
import { compareSqlNames, describeSqlNameMismatch } from './tenancy-sql-names.check';

/** The error resolveSqlNames throws for `options`, or undefined. */
function failure(options: unknown): { name: string; message: string } | undefined {
  try {
    resolveSqlNames(options as never);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPrismaModuleOptionsError);
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

describe('resolveSqlNames', () => {
  it('gives the defaults, which are the names of the demo migration', () => {
    expect(resolveSqlNames()).toEqual({
      functionSchema: 'public',
      setting: 'app.workspace_id',
      tenantFunction: 'current_workspace_id',
      userFunction: 'current_app_user_id',
      claimFunction: 'tenancy_verified_claim',
      installKeyFunction: 'tenancy_install_setting_key',
      enableFunction: 'enable_tenant_rls',
      privateSchema: 'tenancy_private',
      runtimeRole: 'app_runtime',
      adminRole: 'app_admin',
    });
    expect(resolveSqlNames({})).toEqual(DEFAULT_SQL_NAMES);
    expect(Object.isFrozen(DEFAULT_SQL_NAMES)).toBe(true);
  });

  it('applies the given names over the defaults (undefined keeps a default)', () => {
    const names = resolveSqlNames({
      functionSchema: 'tenancy',
      setting: 'app.org_id',
      tenantFunction: 'current_org_id',
      userFunction: undefined,
      runtimeRole: 'org_runtime',
    });
    expect(names).toEqual({
      ...DEFAULT_SQL_NAMES,
      functionSchema: 'tenancy',
      setting: 'app.org_id',
      tenantFunction: 'current_org_id',
      runtimeRole: 'org_runtime',
    });
    expect(qualifiedFunction(names, 'tenantFunction')).toBe('tenancy.current_org_id');
    expect(qualifiedFunction(names, 'userFunction')).toBe('tenancy.current_app_user_id');
    expect(settingPrefix(names)).toBe('app');
  });

  it('rejects a name that is not a lower-case identifier, naming the option', () => {
    const identifier =
      'must be a lower-case SQL identifier (letters, digits, underscore; at most 63)';
    expect(failure({ tenantFunction: 'current_org_id()' })).toEqual({
      name: 'InvalidPrismaModuleOptionsError',
      message: `sql.tenantFunction ${identifier}; got "current_org_id()".`,
    });
    expect(failure({ functionSchema: 'Tenancy' })?.message).toBe(
      `sql.functionSchema ${identifier}; got "Tenancy".`,
    );
    expect(failure({ runtimeRole: 'x; DROP ROLE app_admin' })?.message).toBe(
      `sql.runtimeRole ${identifier}; got "x; DROP ROLE app_admin".`,
    );
    expect(failure({ adminRole: 'a'.repeat(64) })?.message).toBe(
      `sql.adminRole ${identifier}; got "${'a'.repeat(64)}".`,
    );
    expect(failure({ claimFunction: 42 })?.message).toBe(
      `sql.claimFunction ${identifier}; got 42.`,
    );
    expect(failure({ privateSchema: '' })?.message).toBe(
      `sql.privateSchema ${identifier}; got "".`,
    );
  });

  it('rejects a setting that is not "prefix.name"', () => {
    for (const setting of ['org_id', 'app.org.id', 'App.org_id', "app.x'; --"]) {
      expect(failure({ setting })?.message).toBe(
        'sql.setting must be a custom setting name "prefix.name" in lower case, e.g. ' +
          `"app.tenant_id"; got ${JSON.stringify(setting)}.`,
      );
    }
  });

  it('rejects reserved, clashing and unknown names', () => {
    expect(failure({ privateSchema: 'pg_tenancy' })?.message).toBe(
      'sql.privateSchema must not start with "pg_" (PostgreSQL reserves such schema and role names); got "pg_tenancy".',
    );
    expect(failure({ functionSchema: 'tenancy', privateSchema: 'tenancy' })?.message).toBe(
      'sql.privateSchema must differ from sql.functionSchema (the app roles get USAGE on the ' +
        'function schema, never on the private one); both are "tenancy".',
    );
    expect(failure({ adminRole: 'app_runtime' })?.message).toBe(
      "sql.runtimeRole and sql.adminRole must be two roles (the admin role's policy sees every " +
        'row); both are "app_runtime".',
    );
    expect(failure({ tenantColumn: 'org_id' })?.message).toBe(
      'Unknown sql name option "tenantColumn"; the options are functionSchema, setting, ' +
        'tenantFunction, userFunction, claimFunction, installKeyFunction, enableFunction, ' +
        'privateSchema, runtimeRole, adminRole.',
    );
    expect(failure('app.org_id')?.message).toBe(
      'sql must be an object of names, e.g. { setting: \'app.tenant_id\' }; got "app.org_id".',
    );
  });
});

describe('compareSqlNames', () => {
  it("lists the database's names that differ, in option order, and ignores what was not found", () => {
    const mismatches = compareSqlNames(DEFAULT_SQL_NAMES, {
      setting: 'app.org_id',
      functionSchema: 'tenancy',
      claimFunction: 'tenancy_verified_claim',
      adminRole: undefined,
    });
    expect(mismatches).toEqual([
      { option: 'functionSchema', configured: 'public', database: 'tenancy' },
      { option: 'setting', configured: 'app.workspace_id', database: 'app.org_id' },
    ]);
    expect(mismatches.map((m) => describeSqlNameMismatch(m))).toEqual([
      `sql.functionSchema is "public" but the database's RLS migration uses "tenancy"`,
      `sql.setting is "app.workspace_id" but the database's RLS migration uses "app.org_id"`,
    ]);
    expect(sqlNameFlag('installKeyFunction')).toBe('--sql-install-key-function');
  });
});
