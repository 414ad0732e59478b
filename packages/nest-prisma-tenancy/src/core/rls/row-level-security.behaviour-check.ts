import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { qualifiedFunction, type TenancySqlNames } from '../sql/tenancy-sql-names';
import { policyFix, type ApplicablePolicy } from './row-level-security.catalog-check';
import { qualifiedName, sqlIdentifier, type TenantTable } from './row-level-security.tables';
import type { TenantAwarePool } from '../driver/tenant-aware-pool';

/** What the behaviour proof needs. */
export interface BehaviourProofInput {
  /** The runtime role's pool (its signer makes the settings). */
  pool: TenantAwarePool;
  /** The schema of the tenant tables. */
  schema: string;
  /** The tenant tables that exist. */
  tables: readonly TenantTable[];
  /** The permissive policies of the runtime role, to name them in messages. */
  policies: readonly ApplicablePolicy[];
  /** How long a signed setting is valid, for the clock message. */
  maxAgeSeconds: number;
  /** The configured SQL names: the setting to set, the tenant function to call. */
  sql: TenancySqlNames;
}

/** A value of the tenant setting, and what `sql.tenantFunction()` must make of it. */
interface Scenario {
  label: string;
  value: string;
  /** The workspace it must yield, or null for "none". */
  expected: string | null;
}

/** Rows counted per table, at most this many (a bypass on a large table stays cheap to find). */
const COUNT_LIMIT = 1000;
const RLS_VIOLATION = '42501';
const UNDEFINED_FUNCTION = '42883';
const EXPIRED_MS = (2 * 86_400 + 3600) * 1000;

/** A signed value with its last signature digit changed. */
function tampered(value: string): string {
  const last = value.slice(-1);
  return value.slice(0, -1) + (last === '0' ? '1' : '0');
}

/** `42501 (message)` of a PostgreSQL error, or its message. */
function describe(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ? `${code} (${message ?? ''})` : String(message ?? error);
}

/**
 * The behaviour half of the start-up check: proves, as the runtime role, in one transaction that
 * is always rolled back (each statement inside a SAVEPOINT so one failure does not hide the rest),
 * that the policies isolate workspaces rather than merely mention the setting:
 *
 * - with the signed setting of a random, unknown tenant, with no setting, with a bare (forged)
 *   workspace id, with a signature altered by one digit and with a setting signed two days ago,
 *   every tenant table (the root included) shows no row (counted up to 1000);
 * - `sql.tenantFunction()` (`public.current_workspace_id()`) yields the random workspace for its
 *   freshly signed setting
 *   (a key mismatch or clock skew would leave every request with no rows; the message gives the
 *   clock difference) and NULL for every other value;
 * - with the random workspace's setting, `INSERT INTO <table> (<tenant column>) VALUES (<another
 *   workspace>)` fails with 42501 on every tenant table. PostgreSQL evaluates the INSERT policies'
 *   WITH CHECK before NOT NULL and CHECK constraints (ExecInsert), so the other columns do not
 *   matter: any other outcome means the policies let it through (or a trigger ran first).
 *
 * A policy that leaks reads only shows when its table holds rows of some workspace; on an empty
 * table the INSERT proof and the catalog's policy check are what catch it. UPDATE and DELETE
 * policies are not probed (that would lock other workspaces' rows of a live database until the
 * rollback); the catalog's policy check is what covers them.
 *
 * @returns one problem per table or setting that fails, naming the table, its policies and the fix.
 */
export async function proveIsolation(input: BehaviourProofInput): Promise<string[]> {
  const client = (await input.pool.connect()) as pg.PoolClient;
  let unusable: Error | undefined;
  try {
    // The pool's client turns this into `BEGIN; SET LOCAL row_security = on; ...`.
    await client.query('BEGIN');
    return await new BehaviourProof(client, input).run();
  } finally {
    try {
      await client.query('ROLLBACK');
    } catch (error) {
      unusable = error as Error;
    }
    client.release(unusable);
  }
}

class BehaviourProof {
  private readonly problems: string[] = [];
  private functionMissing = false;
  /** `schema.function()` of the tenant function, as called and shown. */
  private readonly tenantFunction: string;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly input: BehaviourProofInput,
  ) {
    this.tenantFunction = `${qualifiedFunction(input.sql, 'tenantFunction')}()`;
  }

  async run(): Promise<string[]> {
    const signer = this.input.pool.settings.signer;
    const tenant = randomUUID();
    const scenarios: Scenario[] = [
      {
        label: 'the signed setting of an unknown tenant',
        value: signer.sign(tenant, undefined),
        expected: tenant,
      },
      { label: 'no setting', value: '', expected: null },
      { label: 'a bare tenant id (forged)', value: randomUUID(), expected: null },
      {
        label: 'an altered signature (forged)',
        value: tampered(signer.sign(randomUUID(), undefined)),
        expected: null,
      },
      {
        label: 'a setting signed two days ago (expired)',
        value: signer.sign(randomUUID(), undefined, Date.now() - EXPIRED_MS),
        expected: null,
      },
    ];
    const leaks = new Map<string, string[]>();
    for (const [index, scenario] of scenarios.entries()) {
      await this.setClaim(scenario.value);
      await this.checkClaim(scenario);
      for (const [table, count] of await this.countRows()) {
        if (count === 0) continue;
        const shown = count > COUNT_LIMIT ? `more than ${COUNT_LIMIT}` : String(count);
        leaks.set(table, [...(leaks.get(table) ?? []), `${shown} with ${scenario.label}`]);
      }
      // The writes run with the first, valid, setting.
      if (index === 0) await this.checkWrites();
    }
    for (const table of this.input.tables) {
      const seen = leaks.get(table.name);
      if (!seen) continue;
      this.problems.push(
        `table ${this.shown(table)} shows rows of other tenants (${seen.join(', ')}): a ` +
          `policy that applies to the runtime role lets them through (${this.policiesOf(table, 'SELECT')}); ` +
          `each must compare ${sqlIdentifier(table.tenantColumn)} = (SELECT ${this.tenantFunction}) ` +
          `and nothing else: drop the others and run ${policyFix(this.input.schema, table, this.input.sql)}`,
      );
    }
    return this.problems;
  }

  /**
   * Sets the tenant setting for the rest of the transaction the way the pool sends it: with
   * `SET LOCAL` on Citus (set_config would stay on the coordinator, and the proof would pass for
   * want of a setting on the workers), with set_config elsewhere.
   */
  private async setClaim(value: string): Promise<void> {
    const { pool, sql } = this.input;
    if (pool.settingMode === 'set_local') {
      // Our own values (signed, forged or empty), quoted as a literal: SET takes no parameter.
      await this.client.query(`SET LOCAL ${sql.setting} = ${pg.escapeLiteral(value)}`);
    } else {
      await this.client.query(`SELECT pg_catalog.set_config('${sql.setting}', $1, true)`, [value]);
    }
  }

  /** The tenant function must yield the scenario's workspace, or NULL. */
  private async checkClaim(scenario: Scenario): Promise<void> {
    if (this.functionMissing) return;
    const result = await this.attempt<{ id: string | null }>(
      `SELECT ${this.tenantFunction}::text AS id`,
    );
    if (result instanceof Error) {
      if ((result as { code?: string }).code === UNDEFINED_FUNCTION) {
        this.functionMissing = true;
        this.problems.push(
          `${this.tenantFunction} does not exist: apply the migrations (npm run db:deploy), or ` +
            `configure the names they were generated with (PrismaModule option sql)`,
        );
      } else {
        this.problems.push(
          `${this.tenantFunction} failed with ${scenario.label}: ${describe(result)}`,
        );
      }
      return;
    }
    const got = result[0]?.id ?? null;
    if (got === scenario.expected) return;
    if (scenario.expected !== null) {
      this.problems.push(
        `a freshly signed tenant setting was not accepted: ${this.tenantFunction} returned ` +
          `${got ?? 'NULL'} instead of ${scenario.expected}, so every request would see no rows. ` +
          `${await this.clockDifference()} Otherwise the database verifies with another key or ` +
          `an older verifier: apply the migrations (npm run db:deploy), or rotate the key as the ` +
          `owner (DELETE FROM ${this.input.sql.privateSchema}.setting_key) and restart every app on the database`,
      );
      return;
    }
    this.problems.push(
      `${this.tenantFunction} accepted ${scenario.label} (it returned ${got}): SQL running ` +
        `as the runtime role could claim any tenant. Apply the migrations that verify the signed ` +
        `setting (npm run db:deploy)`,
    );
  }

  /** The server's clock against this process's, as a sentence. */
  private async clockDifference(): Promise<string> {
    const before = Date.now();
    const result = await this.attempt<{ epoch: number }>(
      `SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())::float8 AS epoch`,
    );
    const after = Date.now();
    if (result instanceof Error || result[0] === undefined) return '';
    const skew = result[0].epoch - (before + after) / 2000;
    const sign = skew >= 0 ? '+' : '-';
    return (
      `The database clock is ${sign}${Math.abs(skew).toFixed(1)} s off this process's (signed ` +
      `settings are valid for ${this.input.maxAgeSeconds} s): if that is more, sync the clocks (NTP).`
    );
  }

  /** Visible rows per table (capped), from one statement, or table by table when it fails. */
  private async countRows(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const { tables } = this.input;
    if (tables.length === 0) return counts;
    const countOf = (table: TenantTable) =>
      `(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ${this.sqlName(table)} LIMIT ${COUNT_LIMIT + 1}) AS visible)`;
    const all = await this.attempt<{ counts: string[] }>(
      `SELECT ARRAY[${tables.map(countOf).join(', ')}]::text[] AS counts`,
    );
    if (!(all instanceof Error)) {
      tables.forEach((table, i) => counts.set(table.name, Number(all[0]?.counts[i] ?? 0)));
      return counts;
    }
    for (const table of tables) {
      const one = await this.attempt<{ count: string }>(`SELECT ${countOf(table)}::text AS count`);
      if (one instanceof Error) {
        this.problems.push(
          `table ${this.shown(table)} could not be read as the runtime role, so its isolation ` +
            `could not be proven: ${describe(one)}`,
        );
      } else {
        counts.set(table.name, Number(one[0]?.count ?? 0));
      }
    }
    return counts;
  }

  /** A row for another workspace must be refused by the INSERT policies (42501). */
  private async checkWrites(): Promise<void> {
    for (const table of this.input.tables) {
      const other = randomUUID();
      const outcome = await this.attempt(
        `INSERT INTO ${this.sqlName(table)} (${pg.escapeIdentifier(table.tenantColumn)}) VALUES ($1)`,
        [other],
        { keep: false },
      );
      if (outcome instanceof Error && (outcome as { code?: string }).code === RLS_VIOLATION) {
        continue;
      }
      const what =
        outcome instanceof Error
          ? `failed with ${describe(outcome)} instead of Row-Level Security's 42501, so its ` +
            `policies did not refuse it (or something ran before them)`
          : 'was accepted';
      this.problems.push(
        `table ${this.shown(table)} did not refuse a row for another tenant: INSERT of ` +
          `${sqlIdentifier(table.tenantColumn)} = <another tenant> with the signed setting of ` +
          `an unknown tenant ${what}; INSERT policies of the runtime role: ` +
          `${this.policiesOf(table, 'INSERT')}. Each must check ${sqlIdentifier(table.tenantColumn)} = ` +
          `(SELECT ${this.tenantFunction}) and nothing else: drop the others and run ` +
          policyFix(this.input.schema, table, this.input.sql),
      );
    }
  }

  /**
   * Runs one statement inside a savepoint; a failure is rolled back to it and returned. With
   * `keep: false` the statement's effects are rolled back even when it succeeds.
   */
  private async attempt<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    { keep = true } = {},
  ): Promise<T[] | Error> {
    await this.client.query('SAVEPOINT rls_proof');
    try {
      const { rows } = await this.client.query<T>(text, values);
      if (!keep) await this.client.query('ROLLBACK TO SAVEPOINT rls_proof');
      await this.client.query('RELEASE SAVEPOINT rls_proof');
      return rows;
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) throw error;
      await this.client.query('ROLLBACK TO SAVEPOINT rls_proof');
      await this.client.query('RELEASE SAVEPOINT rls_proof');
      return error;
    }
  }

  private policiesOf(table: TenantTable, command: 'SELECT' | 'INSERT'): string {
    const names = this.input.policies
      .filter((p) => p.table === table.name && (p.command === command || p.command === 'ALL'))
      .map((p) => p.policy);
    return names.length === 0 ? 'none' : names.join(', ');
  }

  private sqlName(table: TenantTable): string {
    return `${pg.escapeIdentifier(this.input.schema)}.${pg.escapeIdentifier(table.name)}`;
  }

  private shown(table: TenantTable): string {
    return qualifiedName(this.input.schema, table.name);
  }
}
