/** What installing the setting key found: stored now, already this key, another key, no function. */
export type SettingKeyOutcome = 'installed' | 'unchanged' | 'mismatch' | 'missing';

/** Anything that runs one parameterized query (a pg Pool, Client or the tenant pool). */
interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

const UNDEFINED_FUNCTION = '42883';

/**
 * Stores the key that verifies the signed tenant setting, through the migration's
 * `tenancy_install_setting_key`, which never replaces a different key. `'missing'` means the
 * migrations that verify the setting are not applied (the function does not exist).
 */
export async function installSettingKey(
  db: Queryable,
  key: Buffer,
  maxAgeSeconds: number,
): Promise<SettingKeyOutcome> {
  try {
    const { rows } = await db.query(
      'SELECT public.tenancy_install_setting_key($1, $2) AS outcome',
      [key, maxAgeSeconds],
    );
    return (rows[0] as { outcome: Exclude<SettingKeyOutcome, 'missing'> }).outcome;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_FUNCTION) return 'missing';
    throw error;
  }
}
