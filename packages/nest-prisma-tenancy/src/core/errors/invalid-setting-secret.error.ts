import { TenancyError } from './tenancy.error';

/** The secret that signs the tenant setting is missing or too weak. */
export class InvalidSettingSecretError extends TenancyError {
  constructor(readonly reason: string) {
    super(
      `The tenant setting secret is unusable: ${reason}. Pass { settingSecret } to ` +
        `PrismaModule.forRoot()/forRootAsync() (or createTenantAdapter), or set TENANT_SETTING_SECRET, ` +
        `to a random value of at least 32 characters shared by every app on this database, e.g. ` +
        `node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`,
    );
  }
}
