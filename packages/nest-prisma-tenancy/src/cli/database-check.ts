import { installSettingKey } from '../core/driver/setting-key.installer';
import { createTenantAdapter } from '../core/client/tenant-extension';
import { InvalidSettingSecretError } from '../core/errors/invalid-setting-secret.error';
import { RowLevelSecurityVerifier } from '../core/rls/row-level-security.verifier';
import { schemaSourceFromText } from './schema-source';
import { UsageError } from './usage.error';

/** What `checkDatabase` needs. */
export interface DatabaseCheckOptions {
  /** The runtime role's connection URL (as the app connects). */
  url: string;
  /** The secret that signs the tenant setting (the app's TENANT_SETTING_SECRET). */
  settingSecret?: string;
  tenantField?: string;
  tenantRootModel?: string;
  /** The Prisma schema's text: its tenant models are checked. Default: the generated client's. */
  schemaText?: string;
  /** How long a signed setting is valid, s. Default 300. */
  settingMaxAgeSeconds?: number;
}

/** Problems and warnings of a live database. */
export interface DatabaseCheckResult {
  problems: string[];
  warnings: string[];
}

/**
 * Runs the library's start-up check (RowLevelSecurityVerifier) against a live database, as the
 * runtime role, over the tenant driver: the catalog (roles, RLS, policies, settings, foreign keys)
 * and the behaviour proof in a rolled-back transaction, on the tenant tables of `schemaText`. First it installs the setting key derived from
 * `settingSecret` when the database has none, as the app does on start (a different key is never
 * replaced: that is reported).
 *
 * @throws UsageError when no usable setting secret is given.
 */
export async function checkDatabase(options: DatabaseCheckOptions): Promise<DatabaseCheckResult> {
  let adapter: ReturnType<typeof createTenantAdapter>;
  try {
    adapter = createTenantAdapter(options.url, {
      settingSecret: options.settingSecret,
      max: 2,
      connectionTimeoutMillis: 10_000,
    });
  } catch (error) {
    if (error instanceof InvalidSettingSecretError) {
      throw new UsageError(
        `checking a database needs the tenant setting secret (--setting-secret or TENANT_SETTING_SECRET): ${error.message}`,
      );
    }
    throw error;
  }
  const pool = adapter.pool;
  const maxAge = options.settingMaxAgeSeconds ?? 300;
  try {
    const outcome = await installSettingKey(pool, pool.settings.signer.key, maxAge);
    if (outcome === 'missing') {
      return {
        problems: [
          'the database has no tenant setting verifier (public.tenancy_install_setting_key): ' +
            'apply the migration of `nest-prisma-tenancy rls generate`',
        ],
        warnings: [],
      };
    }
    if (outcome === 'mismatch') {
      return {
        problems: [
          'the database holds another tenant setting key than the one of this setting secret: ' +
            "use the app's TENANT_SETTING_SECRET, or rotate the key as the owner (DELETE FROM tenancy_private.setting_key)",
        ],
        warnings: [],
      };
    }
    return await new RowLevelSecurityVerifier(
      { tenantPool: pool },
      {
        tenantField: options.tenantField,
        tenantRootModel: options.tenantRootModel,
        source:
          options.schemaText === undefined ? undefined : schemaSourceFromText(options.schemaText),
        settingMaxAgeSeconds: maxAge,
      },
    ).report();
  } finally {
    await pool.end();
  }
}
