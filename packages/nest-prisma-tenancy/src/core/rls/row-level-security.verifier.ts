/** Where the check reports (Nest's Logger fits). */
export interface VerifierLogger {
  log(message: string): void;
  warn(message: string): void;
}
import type pg from 'pg';
import { RowLevelSecurityNotEnforcedError } from '../errors/row-level-security-not-enforced.error';
import { SqlNamesMismatchError } from '../errors/sql-names-mismatch.error';
import {
  resolveSqlNames,
  type TenancySqlNames,
  type TenancySqlNamesOptions,
} from '../sql/tenancy-sql-names';
import {
  describeSqlNameMismatch,
  findSqlNameMismatches,
  type SqlNameMismatch,
} from '../sql/tenancy-sql-names.check';
import { proveIsolation } from './row-level-security.behaviour-check';
import { inspectCatalog } from './row-level-security.catalog-check';
import { tenantTableColumns, type TenantTableOptions } from './row-level-security.tables';
import type { TenantAwarePool } from '../driver/tenant-aware-pool';

export { tenantTables } from './row-level-security.tables';

/** Options of the start-up check (PrismaService passes its resolved module options). */
export interface RowLevelSecurityVerifierOptions extends TenantTableOptions {
  /** `'error'` (default): `verify` throws; `'warn'`: it logs; `'off'`: PrismaService skips it. */
  rlsCheck?: 'error' | 'warn' | 'off';
  /** How long a signed tenant setting is valid, s, for messages. Default: 300. */
  settingMaxAgeSeconds?: number;
  /**
   * The names the RLS migration was generated with (setting, functions, schemas, roles): the check
   * looks for exactly these. Default: the tenant pool's (`createTenantAdapter`'s `sql` option),
   * else DEFAULT_SQL_NAMES.
   */
  sql?: TenancySqlNamesOptions;
}

/** What the start-up check found. */
export interface RowLevelSecurityReport {
  /** Each way tenants would not be isolated, with its fix; empty when isolation is proven. */
  problems: string[];
  /** Accepted weaknesses worth knowing (CASCADEs from global tables into tenant tables). */
  warnings: string[];
}

/**
 * Proves, as the connected (runtime) role, that PostgreSQL really isolates tenants, instead of
 * trusting the text of the policies:
 *
 * - names: the database's tenancy functions (found by signature and body) have the configured
 *   names (`sql`: setting, functions, schemas, roles); otherwise that is the only finding, since
 *   the rest would only repeat it (see `findSqlNameMismatches`);
 * - catalog: the role is neither SUPERUSER nor BYPASSRLS; each tenant-scoped table exists in the
 *   pool's schema, has Row-Level Security enabled (FORCEd when the role owns it) and, for each of
 *   SELECT, INSERT, UPDATE and DELETE, a permissive policy that applies to the role and mentions
 *   `current_workspace_id()`; no role or database login default touches `row_security`,
 *   `search_path`, `session_authorization`, `role` or `app.*`; foreign keys between tenant tables
 *   pair their tenant columns (see `inspectCatalog`);
 * - behaviour, in a transaction that is always rolled back: unknown, absent, forged and expired
 *   settings show no row of any tenant table, a freshly signed one is accepted, and a row for
 *   another workspace is refused with 42501 (see `proveIsolation`).
 *
 * So a policy such as `workspace_id = current_workspace_id() OR workspace_id IS NOT NULL` fails
 * the check although it mentions the workspace.
 */
export class RowLevelSecurityVerifier {
  /**
   * @param prisma Anything with the tenant pool: the PrismaService.
   * @param options The tenant models and the check mode (PrismaService's resolved options).
   */
  constructor(
    private readonly prisma: { readonly tenantPool: TenantAwarePool },
    private readonly options: RowLevelSecurityVerifierOptions = {},
  ) {}

  /** The configured names: the `sql` option, else the tenant pool's. */
  get sql(): TenancySqlNames {
    return this.options.sql === undefined
      ? this.prisma.tenantPool.sql
      : resolveSqlNames(this.options.sql);
  }

  /** Runs every check and returns its problems and warnings. */
  async report(): Promise<RowLevelSecurityReport> {
    const { problems, warnings } = await this.inspect();
    return { problems, warnings };
  }

  private async inspect(): Promise<RowLevelSecurityReport & { mismatches: SqlNameMismatch[] }> {
    const pool = this.prisma.tenantPool;
    const sql = this.sql;
    const schema = pool.settings.schema;
    const tables = tenantTableColumns(this.options);
    // Through the pool, so each statement runs with the pinned search_path and row_security.
    const rows = async <T>(text: string, values?: unknown[]): Promise<T[]> =>
      ((await pool.query(text, values)) as pg.QueryResult<T & pg.QueryResultRow>).rows;
    const mismatches = await findSqlNameMismatches(rows, sql);
    if (mismatches.length > 0) {
      return {
        problems: mismatches.map((m) => describeSqlNameMismatch(m)),
        warnings: [],
        mismatches,
      };
    }
    const catalog = await inspectCatalog(rows, schema, tables, sql);
    const problems = [...catalog.problems];
    // A role that ignores RLS would "leak" everywhere; the catalog already says why.
    if (!catalog.bypassesRls) {
      problems.push(
        ...(await proveIsolation({
          pool,
          schema,
          tables: catalog.present,
          policies: catalog.policies,
          maxAgeSeconds: this.options.settingMaxAgeSeconds ?? 300,
          sql,
        })),
      );
    }
    return { problems, warnings: catalog.warnings, mismatches };
  }

  /** Lists every problem found (empty when isolation is proven). */
  async problems(): Promise<string[]> {
    return (await this.report()).problems;
  }

  /**
   * Runs the check, logs its warnings and, per the `rlsCheck` option, throws (`'error'`, the
   * default) or logs (`'warn'`) the problems.
   *
   * @throws SqlNamesMismatchError when the database's tenancy objects have other names than `sql`.
   * @throws RowLevelSecurityNotEnforcedError listing every problem.
   */
  async verify(logger: VerifierLogger): Promise<void> {
    const { problems, warnings, mismatches } = await this.inspect();
    for (const warning of warnings) logger.warn(warning);
    if (problems.length === 0) {
      logger.log('Row-Level Security proven on every tenant-scoped table');
      return;
    }
    const error =
      mismatches.length > 0
        ? new SqlNamesMismatchError(mismatches)
        : new RowLevelSecurityNotEnforcedError(problems, this.sql);
    if ((this.options.rlsCheck ?? 'error') === 'error') throw error;
    logger.warn(error.message);
  }
}
