import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';

/**
 * The names of the database objects the library's SQL uses: the setting that carries the signed
 * tenant claim, the functions the policies call, the private key schema and the roles. The RLS
 * migration written by `nest-prisma-tenancy rls generate` and the runtime must agree on them, so
 * the same options go to `PrismaModule`, the CLI (`--sql-*` flags) and the isolation kit.
 */
export interface TenancySqlNamesOptions {
  /** Schema of the tenancy functions (`current_tenant`-style helpers). Default: `'public'`. */
  functionSchema?: string;
  /** Custom setting (`prefix.name`) that carries the signed claim. Default: `'app.workspace_id'`. */
  setting?: string;
  /** Function returning the verified current tenant id (policies call it). Default: `'current_workspace_id'`. */
  tenantFunction?: string;
  /** Function returning the verified current user id. Default: `'current_app_user_id'`. */
  userFunction?: string;
  /** Function returning one verified part of the claim. Default: `'tenancy_verified_claim'`. */
  claimFunction?: string;
  /** SECURITY DEFINER function that installs the setting key once. Default: `'tenancy_install_setting_key'`. */
  installKeyFunction?: string;
  /** Function that enables RLS and the tenant policy on one table. Default: `'enable_tenant_rls'`. */
  enableFunction?: string;
  /** Schema of the setting key, unreadable by the app roles. Default: `'tenancy_private'`. */
  privateSchema?: string;
  /** Role of the runtime connection (DATABASE_URL). Default: `'app_runtime'`. */
  runtimeRole?: string;
  /** Role of the system client (SYSTEM_DATABASE_URL), BYPASSRLS. Default: `'app_admin'`. */
  adminRole?: string;
}

/** TenancySqlNamesOptions with every default applied. */
export type TenancySqlNames = Required<TenancySqlNamesOptions>;

/** The defaults: the names of the demo's migration and of earlier versions. */
export const DEFAULT_SQL_NAMES: TenancySqlNames = Object.freeze({
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

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const SETTING = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
/** Names PostgreSQL reserves for its own schemas and roles. */
const RESERVED = /^pg_/;
const SCHEMA_OR_ROLE: readonly (keyof TenancySqlNames)[] = [
  'functionSchema',
  'privateSchema',
  'runtimeRole',
  'adminRole',
];

/**
 * Applies the defaults and checks every name: lower-case SQL identifiers (so they never need
 * quoting and match what PostgreSQL folds them to), a two-part custom setting name, no `pg_`
 * schema or role (reserved by PostgreSQL), a private schema other than the function schema and
 * two different roles.
 *
 * @throws InvalidPrismaModuleOptionsError naming the bad option and the rule.
 */
export function resolveSqlNames(options: TenancySqlNamesOptions = {}): TenancySqlNames {
  if (options === null || typeof options !== 'object') {
    throw new InvalidPrismaModuleOptionsError(
      `sql must be an object of names, e.g. { setting: 'app.tenant_id' }; got ${JSON.stringify(options)}.`,
    );
  }
  const names = { ...DEFAULT_SQL_NAMES } as { -readonly [K in keyof TenancySqlNames]: string };
  for (const [key, value] of Object.entries(options) as [keyof TenancySqlNames, unknown][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_SQL_NAMES)) {
      throw new InvalidPrismaModuleOptionsError(
        `Unknown sql name option "${key}"; the options are ${Object.keys(DEFAULT_SQL_NAMES).join(', ')}.`,
      );
    }
    const rule = key === 'setting' ? SETTING : IDENTIFIER;
    if (typeof value !== 'string' || !rule.test(value)) {
      throw new InvalidPrismaModuleOptionsError(
        `sql.${key} must be ${
          key === 'setting'
            ? 'a custom setting name "prefix.name" in lower case, e.g. "app.tenant_id"'
            : 'a lower-case SQL identifier (letters, digits, underscore; at most 63)'
        }; got ${JSON.stringify(value)}.`,
      );
    }
    if (SCHEMA_OR_ROLE.includes(key) && RESERVED.test(value)) {
      throw new InvalidPrismaModuleOptionsError(
        `sql.${key} must not start with "pg_" (PostgreSQL reserves such schema and role names); got ${JSON.stringify(value)}.`,
      );
    }
    names[key] = value;
  }
  if (names.privateSchema === names.functionSchema) {
    throw new InvalidPrismaModuleOptionsError(
      `sql.privateSchema must differ from sql.functionSchema (the app roles get USAGE on the ` +
        `function schema, never on the private one); both are ${JSON.stringify(names.functionSchema)}.`,
    );
  }
  if (names.runtimeRole === names.adminRole) {
    throw new InvalidPrismaModuleOptionsError(
      `sql.runtimeRole and sql.adminRole must be two roles (the admin role's policy sees every ` +
        `row); both are ${JSON.stringify(names.runtimeRole)}.`,
    );
  }
  return names;
}

/** The tenancy functions of TenancySqlNames. */
export type TenancyFunction =
  | 'tenantFunction'
  | 'userFunction'
  | 'claimFunction'
  | 'installKeyFunction'
  | 'enableFunction';

/** `schema.function` of one of the tenancy functions, e.g. `public.current_workspace_id`. */
export function qualifiedFunction(names: TenancySqlNames, fn: TenancyFunction): string {
  return `${names.functionSchema}.${names[fn]}`;
}

/** The prefix of the configured setting (`app` of `app.workspace_id`). */
export function settingPrefix(names: TenancySqlNames): string {
  return names.setting.slice(0, names.setting.indexOf('.'));
}
