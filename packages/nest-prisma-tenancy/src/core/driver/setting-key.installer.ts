import {
  qualifiedFunction,
  resolveSqlNames,
  type TenancySqlNamesOptions,
} from '../sql/tenancy-sql-names';

/** What installing the setting key found: stored now, already this key, another key, no function. */
export type SettingKeyOutcome = 'installed' | 'unchanged' | 'mismatch' | 'missing';

/** Anything that runs one parameterized query (a pg Pool, Client or the tenant pool). */
interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

const UNDEFINED_FUNCTION = '42883';
const INVALID_SCHEMA_NAME = '3F000';

/**
 * Stores the key that verifies the signed tenant setting, through the migration's
 * `tenancy_install_setting_key` (`sql.functionSchema`.`sql.installKeyFunction`), which never
 * replaces a different key. `'missing'` means the migrations that verify the setting are not
 * applied, or were generated with other names (the function or its schema does not exist).
 *
 * @param sql The names the RLS migration was generated with. Default: DEFAULT_SQL_NAMES.
 * @throws InvalidPrismaModuleOptionsError when a name of `sql` is not a plain identifier.
 */
export async function installSettingKey(
  db: Queryable,
  key: Buffer,
  maxAgeSeconds: number,
  sql: TenancySqlNamesOptions = {},
): Promise<SettingKeyOutcome> {
  const install = qualifiedFunction(resolveSqlNames(sql), 'installKeyFunction');
  try {
    const { rows } = await db.query(`SELECT ${install}($1, $2) AS outcome`, [key, maxAgeSeconds]);
    return (rows[0] as { outcome: Exclude<SettingKeyOutcome, 'missing'> }).outcome;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === UNDEFINED_FUNCTION || code === INVALID_SCHEMA_NAME) return 'missing';
    throw error;
  }
}
