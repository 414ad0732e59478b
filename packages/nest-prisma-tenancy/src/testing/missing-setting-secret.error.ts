/**
 * The isolation kit has no secret to sign the tenant setting with. Its database checks run raw SQL
 * as the runtime role with a signed `app.workspace_id` (PostgreSQL ignores a bare workspace id), so
 * it needs the secret of the app under test.
 */
export class MissingSettingSecretError extends Error {
  override name = this.constructor.name;

  constructor() {
    super(
      'The isolation kit needs the tenant setting secret to sign app.workspace_id for its checks: ' +
        'pass { settingSecret } to describeTenantIsolation() / TenantIsolationKit.open(), or set ' +
        'TENANT_SETTING_SECRET, to the same secret the app under test uses.',
    );
  }
}
