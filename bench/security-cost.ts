/**
 * What the verified tenant setting costs PostgreSQL per statement: the policies call
 * `(SELECT current_workspace_id())`, evaluated once per statement, which checks the setting's HMAC
 * (tenancy_verified_claim). Timed here in isolation, many calls in one statement, against reading
 * the same setting unverified.
 */
import pg from 'pg';
import type { BenchDatabase } from './database';
import { benchSigner } from './database';

/** Server time per call, µs (best of a few runs). */
export interface VerificationCost {
  calls: number;
  /** `public.current_workspace_id()`: parse, HMAC-SHA256 check, age check. */
  verifiedUs: number;
  /** `current_setting('app.workspace_id', true)`: the setting read unverified. */
  unverifiedUs: number;
  /** The difference: what verification adds to each statement under Row-Level Security. */
  addedUs: number;
}

async function bestOf(client: pg.Client, sql: string, runs: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT TEXT) ${sql}`,
    );
    const line = rows.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
    const ms = Number(/([\d.]+) ms/.exec(line ?? '')?.[1]);
    if (Number.isFinite(ms)) best = Math.min(best, ms);
  }
  return best;
}

/** Times `calls` verifications in one statement, as the runtime role, under a signed setting. */
export async function measureVerificationCost(
  db: BenchDatabase,
  calls = 5_000,
): Promise<VerificationCost> {
  const client = new pg.Client({ connectionString: db.runtimeUrl });
  await client.connect();
  try {
    const workspace = db.workspaces[0].id;
    await client.query(`SELECT set_config('app.workspace_id', $1, false)`, [
      benchSigner().sign(workspace, undefined),
    ]);
    const { rows } = await client.query<{ id: string | null }>(
      'SELECT public.current_workspace_id()::text AS id',
    );
    if (rows[0].id !== workspace) throw new Error('the signed setting did not verify');
    const series = `FROM generate_series(1, ${calls})`;
    const verified = await bestOf(
      client,
      `SELECT count(public.current_workspace_id()) ${series}`,
      3,
    );
    const unverified = await bestOf(
      client,
      `SELECT count(current_setting('app.workspace_id', true)) ${series}`,
      3,
    );
    return {
      calls,
      verifiedUs: (verified * 1000) / calls,
      unverifiedUs: (unverified * 1000) / calls,
      addedUs: ((verified - unverified) * 1000) / calls,
    };
  } finally {
    await client.end();
  }
}
