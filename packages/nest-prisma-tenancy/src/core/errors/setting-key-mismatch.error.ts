import { DEFAULT_SQL_NAMES, type TenancySqlNames } from '../sql/tenancy-sql-names';
import { TenancyError } from './tenancy.error';

/**
 * The database holds a different tenant setting key than the one derived from this app's secret,
 * so PostgreSQL would show this app no tenant rows.
 */
export class SettingKeyMismatchError extends TenancyError {
  /** @param sql The configured SQL names (the key's schema). Default: DEFAULT_SQL_NAMES. */
  constructor(sql: TenancySqlNames = DEFAULT_SQL_NAMES) {
    super(
      'The database verifies the tenant setting with a different key than this app signs it with. ' +
        'Every app that shares the database must use the same settingSecret / TENANT_SETTING_SECRET. ' +
        'To rotate the secret, delete the stored key as the database owner ' +
        `(DELETE FROM ${sql.privateSchema}.setting_key) and restart every app with the new secret.`,
    );
  }
}
