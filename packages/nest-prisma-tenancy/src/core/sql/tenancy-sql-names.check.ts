import {
  DEFAULT_SQL_NAMES,
  type TenancySqlNames,
  type TenancySqlNamesOptions,
} from './tenancy-sql-names';

/** Runs one statement and returns its rows. */
export type SqlRows = <T>(text: string, values?: unknown[]) => Promise<T[]>;

/** SqlRows over anything that runs a parameterized query (a pg Pool or Client, the tenant pool). */
export function rowsOf(db: {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}): SqlRows {
  return async <T>(text: string, values?: unknown[]) => (await db.query(text, values)).rows as T[];
}

/** One name the database's RLS migration uses differently from the configuration. */
export interface SqlNameMismatch {
  /** The option of TenancySqlNamesOptions, e.g. `'setting'`. */
  option: keyof TenancySqlNames;
  /** The configured name (or its default). */
  configured: string;
  /** The name the database's tenancy objects use. */
  database: string;
}

interface FunctionRow {
  schema: string;
  name: string;
  args: string;
  result: string;
  definer: boolean;
  source: string;
  grantees: string[];
}

const NAME = '([a-z_][a-z0-9_]*)';
const READS_SETTING = /current_setting\('([^']+)', true\)/;
const KEY_TABLE = new RegExp(`FROM ${NAME}\\.setting_key\\b`);
const ADMIN_POLICY = new RegExp(`FOR ALL TO ${NAME} USING \\(true\\)`);
const INSTALL_ARGS = 'new_key bytea, max_age_seconds integer';
const ENABLE_ARGS = 'target regclass, tenant_column name';

/**
 * The names of the tenancy objects a database has, read from its catalog: the SQL functions that
 * `nest-prisma-tenancy rls generate` writes are recognized by their signatures and bodies (the
 * claim verifier: SECURITY DEFINER `(part integer) RETURNS uuid` reading `current_setting(...)`
 * and `<private schema>.setting_key`; the tenant and user functions that call it with 1 and 2; the
 * key installer and `enable_tenant_rls` beside it), whatever they are named. A verifier at the
 * configured name is preferred. Readable by any role (pg_proc is public).
 *
 * @returns the names found (a part may be missing), or undefined when the database has no verifier.
 */
export async function readDatabaseSqlNames(
  rows: SqlRows,
  configured: TenancySqlNames = DEFAULT_SQL_NAMES,
): Promise<TenancySqlNamesOptions | undefined> {
  const functions = await rows<FunctionRow>(
    `SELECT n.nspname::text AS schema, p.proname::text AS name,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
            pg_catalog.format_type(p.prorettype, NULL) AS result,
            p.prosecdef AS definer, p.prosrc AS source,
            ARRAY(SELECT pg_catalog.pg_get_userbyid(a.grantee)::text
                    FROM pg_catalog.aclexplode(p.proacl) AS a
                   WHERE a.grantee <> 0 AND a.grantee <> p.proowner
                     AND a.privilege_type = 'EXECUTE'
                   ORDER BY 1) AS grantees
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind = 'f'
      ORDER BY (n.nspname = $1 AND p.proname = $2) DESC, n.nspname, p.proname`,
    [configured.functionSchema, configured.claimFunction],
  );
  const claim = functions.find(
    (f) =>
      f.definer &&
      f.args === 'part integer' &&
      f.result === 'uuid' &&
      READS_SETTING.test(f.source) &&
      KEY_TABLE.test(f.source),
  );
  if (!claim) return undefined;
  const found: TenancySqlNamesOptions = {
    functionSchema: claim.schema,
    claimFunction: claim.name,
    setting: READS_SETTING.exec(claim.source)?.[1],
    privateSchema: KEY_TABLE.exec(claim.source)?.[1],
  };
  const beside = functions.filter((f) => f.schema === claim.schema);
  const calling = (part: number) =>
    new RegExp(`^\\s*SELECT ${claim.schema}\\.${claim.name}\\(${part}\\)\\s*$`);
  const named = (part: number) =>
    beside.find((f) => f.args === '' && f.result === 'uuid' && calling(part).test(f.source))?.name;
  found.tenantFunction = named(1);
  found.userFunction = named(2);
  const install = beside.find((f) => f.definer && f.args === INSTALL_ARGS && f.result === 'text');
  found.installKeyFunction = install?.name;
  if (install?.grantees.length === 1) found.runtimeRole = install.grantees[0];
  const enable = beside.find((f) => f.args === ENABLE_ARGS && ADMIN_POLICY.test(f.source));
  found.enableFunction = enable?.name;
  found.adminRole = enable && ADMIN_POLICY.exec(enable.source)?.[1];
  return found;
}

/** The names that `found` (the database's) has otherwise than `configured`, in option order. */
export function compareSqlNames(
  configured: TenancySqlNames,
  found: TenancySqlNamesOptions,
): SqlNameMismatch[] {
  const mismatches: SqlNameMismatch[] = [];
  for (const option of Object.keys(DEFAULT_SQL_NAMES) as (keyof TenancySqlNames)[]) {
    const database = found[option];
    if (database !== undefined && database !== configured[option]) {
      mismatches.push({ option, configured: configured[option], database });
    }
  }
  return mismatches;
}

/**
 * Compares the configured names with the database's tenancy objects (see readDatabaseSqlNames).
 * Empty when they agree, or when the database has no tenancy objects at all.
 */
export async function findSqlNameMismatches(
  rows: SqlRows,
  configured: TenancySqlNames,
): Promise<SqlNameMismatch[]> {
  const found = await readDatabaseSqlNames(rows, configured);
  return found ? compareSqlNames(configured, found) : [];
}

/**
 * One mismatch as a line: `sql.setting is "app.workspace_id" but the database's RLS migration
 * uses "app.org_id"`. `label` names the option (default `sql.<option>`; the CLI gives its flag).
 */
export function describeSqlNameMismatch(
  mismatch: SqlNameMismatch,
  label = `sql.${mismatch.option}`,
): string {
  return `${label} is "${mismatch.configured}" but the database's RLS migration uses "${mismatch.database}"`;
}
