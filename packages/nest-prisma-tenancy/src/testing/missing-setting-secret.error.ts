import { DEFAULT_SQL_NAMES, type TenancySqlNames } from '../core/sql/tenancy-sql-names';

/**
 * The isolation kit has no secret to sign the tenant setting with. Its database checks run raw SQL
 * as the runtime role with a signed tenant setting (PostgreSQL ignores a bare tenant id), so it
 * needs the secret of the app under test.
 */
export class MissingSettingSecretError extends Error {
  override name = this.constructor.name;

  constructor(sql: Pick<TenancySqlNames, 'setting'> = DEFAULT_SQL_NAMES) {
    super(
      `The isolation kit needs the tenant setting secret to sign ${sql.setting} for its checks: ` +
        'pass { settingSecret } to describeTenantIsolation() / TenantIsolationKit.open(), set it ' +
        "in the app's PrismaModule.forRoot({ settingSecret }) (read with module or app), or set " +
        'TENANT_SETTING_SECRET, to the same secret the app under test uses.',
    );
  }
}
