import { installSettingKey } from '../core/driver/setting-key.installer';
import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  type TenancySqlNames,
} from '../core/sql/tenancy-sql-names';
import {
  describeSqlNameMismatch,
  findSqlNameMismatches,
  rowsOf,
} from '../core/sql/tenancy-sql-names.check';
import { createTenantAdapter } from '../core/client/tenant-extension';
import { sqlNameFlag } from '../core/errors/sql-names-mismatch.error';
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
  /** The SQL names the RLS migration was generated with (checked). Default: DEFAULT_SQL_NAMES. */
  sql?: TenancySqlNames;
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
 * replaced: that is reported). A database whose tenancy objects have other names than `sql` gets
 * one problem per name.
 *
 * @throws UsageError when no usable setting secret is given.
 */
export async function checkDatabase(options: DatabaseCheckOptions): Promise<DatabaseCheckResult> {
  let adapter: ReturnType<typeof createTenantAdapter>;
  const sql = options.sql ?? DEFAULT_SQL_NAMES;
  try {
    adapter = createTenantAdapter(options.url, {
      settingSecret: options.settingSecret,
      max: 2,
      connectionTimeoutMillis: 10_000,
      sql,
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
    const outcome = await installSettingKey(pool, pool.settings.signer.key, maxAge, sql);
    if (outcome === 'missing') {
      const mismatches = await findSqlNameMismatches(rowsOf(pool), sql);
      return {
        problems:
          mismatches.length > 0
            ? mismatches.map((m) => describeSqlNameMismatch(m, sqlNameFlag(m.option)))
            : [
                `the database has no tenant setting verifier (${qualifiedFunction(sql, 'installKeyFunction')}): ` +
                  'apply the migration of `nest-prisma-tenancy rls generate`',
              ],
        warnings: [],
      };
    }
    if (outcome === 'mismatch') {
      return {
        problems: [
          'the database holds another tenant setting key than the one of this setting secret: ' +
            `use the app's TENANT_SETTING_SECRET, or rotate the key as the owner (DELETE FROM ${sql.privateSchema}.setting_key)`,
        ],
        warnings: [],
      };
    }
    const report = await new RowLevelSecurityVerifier(
      { tenantPool: pool },
      {
        tenantField: options.tenantField,
        tenantRootModel: options.tenantRootModel,
        source:
          options.schemaText === undefined ? undefined : schemaSourceFromText(options.schemaText),
        settingMaxAgeSeconds: maxAge,
        sql,
      },
    ).report();
    // Name mismatches by the CLI's flags rather than the PrismaModule option.
    return {
      ...report,
      problems: report.problems.map((problem) =>
        problem.replace(/^sql\.([A-Za-z]+)(?= is ")/, (_, option: string) => sqlNameFlag(option)),
      ),
    };
  } finally {
    await pool.end();
  }
}
