import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  type TenancySqlNames,
} from '../core/sql/tenancy-sql-names';

/**
 * PostgreSQL does not accept the isolation kit's signed tenant setting as the runtime role, so
 * every database check would fail for a reason that has nothing to do with isolation.
 */
export class SettingNotAcceptedError extends Error {
  override name = this.constructor.name;

  constructor(sql: TenancySqlNames = DEFAULT_SQL_NAMES) {
    super(
      'PostgreSQL does not accept the tenant setting signed by the isolation kit ' +
        `(${qualifiedFunction(sql, 'tenantFunction')}() is NULL for it on runtimeUrl). Either ` +
        "settingSecret (default: the app's, else TENANT_SETTING_SECRET) is not the secret of the " +
        "app under test, the sql names (default: the app's) are not those of its RLS migration, " +
        'or the database holds no key yet: PrismaService installs it when the app first starts, ' +
        'so open the kit after the app (or with an app that has started once against this ' +
        'database).',
    );
  }
}
