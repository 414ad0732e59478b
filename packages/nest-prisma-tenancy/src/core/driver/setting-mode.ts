import type pg from 'pg';
import type { SettingMode } from './pool-options';

/** A setting mode with `auto` resolved. */
export type ResolvedSettingMode = Exclude<SettingMode, 'auto'>;

/**
 * `settingMode: 'auto'`: `set_local` on a Citus coordinator (Citus propagates `SET LOCAL`, not
 * `set_config`, to the workers), `set_config` anywhere else.
 */
export async function detectSettingMode(
  client: Pick<pg.ClientBase, 'query'>,
): Promise<ResolvedSettingMode> {
  const { rows } = await client.query<{ citus: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') AS citus`,
  );
  return rows[0]?.citus ? 'set_local' : 'set_config';
}
