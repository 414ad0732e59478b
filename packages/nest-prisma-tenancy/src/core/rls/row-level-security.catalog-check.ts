import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  settingPrefix,
  type TenancySqlNames,
} from '../sql/tenancy-sql-names';
import type { SqlRows } from '../sql/tenancy-sql-names.check';
import { qualifiedName, sqlIdentifier, type TenantTable } from './row-level-security.tables';

export type { SqlRows };

/** A permissive policy that applies to the runtime role, on a tenant table. */
export interface ApplicablePolicy {
  table: string;
  policy: string;
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE` or `ALL`. */
  command: string;
  /** The USING expression as PostgreSQL prints it, or null. */
  qual: string | null;
  /** The WITH CHECK expression as PostgreSQL prints it, or null. */
  withCheck: string | null;
}

/** What the catalog says about the runtime role, its tables, settings and foreign keys. */
export interface CatalogFindings {
  problems: string[];
  warnings: string[];
  /** True when the role ignores Row-Level Security (SUPERUSER or BYPASSRLS). */
  bypassesRls: boolean;
  /** The tenant tables that exist (the behaviour proof runs on these). */
  present: TenantTable[];
  policies: ApplicablePolicy[];
}

const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

/**
 * Role and database settings that change how, or as whom, Row-Level Security is evaluated: the
 * configured setting's whole prefix (`app.*` by default) included.
 */
function weakensRls(name: string, sql: TenancySqlNames): boolean {
  return (
    ['row_security', 'search_path', 'session_authorization', 'role'].includes(name) ||
    name.startsWith(`${settingPrefix(sql)}.`)
  );
}

/**
 * The fix every policy message suggests: the migration helper (`sql.enableFunction`) recreates
 * the four policies.
 */
export function policyFix(
  schema: string,
  table: TenantTable,
  sql: TenancySqlNames = DEFAULT_SQL_NAMES,
): string {
  const target = `'${qualifiedName(schema, table.name).replace(/'/g, "''")}'`;
  const column = table.tenantColumn === 'workspace_id' ? '' : `, '${table.tenantColumn}'`;
  return `SELECT ${qualifiedFunction(sql, 'enableFunction')}(${target}${column})`;
}

interface RoleRow {
  role: string;
  superuser: boolean;
  bypassrls: boolean;
}

interface RuntimeRoleRow {
  exists: boolean;
  member: boolean;
}

interface TableRow {
  table: string;
  exists: boolean;
  rls: boolean;
  forced: boolean;
  owned: boolean;
}

interface PolicyRow {
  table: string;
  policy: string;
  cmd: string;
  qual: string | null;
  with_check: string | null;
}

interface SettingRow {
  role: string | null;
  database: string | null;
  setting: string;
}

interface ForeignKeyRow {
  name: string;
  from_table: string;
  to_schema: string;
  to_table: string;
  from_columns: string[];
  to_columns: string[];
  on_delete: string;
  on_update: string;
}

/**
 * The catalog half of the start-up check, as the runtime role. Every relation and function it
 * names is schema-qualified (`pg_catalog.*`, the configured schema); operators and type names
 * resolve through the search_path the tenant pool pins, where pg_catalog comes first.
 *
 * - The role (and the session's login role) is neither SUPERUSER nor BYPASSRLS, and is the
 *   configured runtime role (`sql.runtimeRole`) or a member of it.
 * - Every tenant table exists in `schema`, has Row-Level Security enabled (FORCEd when the role
 *   owns it), and has a permissive policy applying to the role for each of SELECT, INSERT, UPDATE
 *   and DELETE; each such policy mentions `sql.tenantFunction()` (a cheap sanity check: the
 *   behaviour proof is the real test, and catches `... OR workspace_id IS NOT NULL`).
 * - No login default of the role (`ALTER ROLE ... [IN DATABASE ...] SET`) or of the database
 *   (`ALTER DATABASE ... SET`) sets `row_security`, `search_path`, `session_authorization`,
 *   `role` or a setting of the configured setting's prefix (`app.*`): the runtime role may
 *   `ALTER ROLE` itself.
 * - A foreign key between two tenant tables pairs their tenant columns (PostgreSQL checks foreign
 *   keys without Row-Level Security, so a plain one lets a workspace reference, and probe for,
 *   another's rows).
 * - Warning only: foreign keys whose ON DELETE or ON UPDATE is CASCADE from a global table into a
 *   tenant table (deleting or re-keying the global row changes rows of every tenant, outside
 *   Row-Level Security; the runtime role can do neither on the demo's global tables). SET NULL and
 *   SET DEFAULT are accepted: they only clear a reference to a global row and move no row between
 *   workspaces (the demo's `created_by_id ... ON DELETE SET NULL` into `users`).
 */
export async function inspectCatalog(
  rows: SqlRows,
  schema: string,
  tables: readonly TenantTable[],
  sql: TenancySqlNames = DEFAULT_SQL_NAMES,
): Promise<CatalogFindings> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const names = tables.map((t) => t.name);

  const roles = await rows<RoleRow>(
    `SELECT r.rolname::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls
       FROM pg_catalog.pg_roles r
      WHERE r.rolname IN (current_user, session_user)
      ORDER BY r.rolname`,
  );
  for (const role of roles) {
    const name = sqlIdentifier(role.role);
    if (role.superuser) {
      problems.push(
        `the role ${role.role} is a SUPERUSER, which ignores Row-Level Security: connect as ` +
          `${sql.runtimeRole} instead`,
      );
    } else if (role.bypassrls) {
      problems.push(`the role ${role.role} has BYPASSRLS: ALTER ROLE ${name} NOBYPASSRLS`);
    }
  }
  const bypassesRls = roles.some((r) => r.superuser || r.bypassrls);
  if (!bypassesRls) problems.push(...(await inspectRuntimeRole(rows, sql)));

  const tableRows = await rows<TableRow>(
    `SELECT t.name AS table, c.oid IS NOT NULL AS exists,
            coalesce(c.relrowsecurity, false) AS rls,
            coalesce(c.relforcerowsecurity, false) AS forced,
            coalesce(pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE'), false) AS owned
       FROM pg_catalog.unnest($2::text[]) AS t(name)
       LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1
       LEFT JOIN pg_catalog.pg_class c
         ON c.relnamespace = n.oid AND c.relname = t.name AND c.relkind IN ('r', 'p')`,
    [schema, names],
  );
  const policyRows = await rows<PolicyRow>(
    `SELECT c.relname::text AS table, p.polname::text AS policy,
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                          WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY ($2::text[]) AND p.polpermissive
        AND EXISTS (SELECT FROM pg_catalog.unnest(p.polroles) AS r(id)
                     WHERE CASE WHEN r.id = 0 THEN true
                                ELSE pg_catalog.pg_has_role(current_user, r.id, 'MEMBER') END)
      ORDER BY c.relname, p.polname`,
    [schema, names],
  );
  const policies = policyRows.map((p) => ({
    table: p.table,
    policy: p.policy,
    command: p.cmd,
    qual: p.qual,
    withCheck: p.with_check,
  }));

  const present: TenantTable[] = [];
  for (const table of tables) {
    const row = tableRows.find((r) => r.table === table.name);
    const shown = qualifiedName(schema, table.name);
    if (!row?.exists) {
      problems.push(`table ${shown} does not exist (apply the migrations: npm run db:deploy)`);
      continue;
    }
    present.push(table);
    if (!row.rls) {
      problems.push(
        `table ${shown} does not have Row-Level Security enabled: ${policyFix(schema, table, sql)}`,
      );
    }
    if (row.owned && !row.forced) {
      problems.push(
        `table ${shown} is owned by the runtime role and its Row-Level Security is not FORCEd: ` +
          `ALTER TABLE ${shown} FORCE ROW LEVEL SECURITY (better: connect as a role that owns no table)`,
      );
    }
    const mine = policies.filter((p) => p.table === table.name);
    for (const command of COMMANDS) {
      if (!mine.some((p) => p.command === command || p.command === 'ALL')) {
        problems.push(
          `table ${shown} has no ${command} policy that applies to the runtime role: ` +
            policyFix(schema, table, sql),
        );
      }
    }
    // A role that ignores RLS is a member of every role: each policy would "apply" to it.
    for (const policy of bypassesRls ? [] : mine) {
      const expressions = [policy.qual, policy.withCheck].filter((e): e is string => e !== null);
      if (!expressions.every((e) => e.includes(`${sql.tenantFunction}()`))) {
        problems.push(
          `policy ${policy.policy} on ${shown} applies to the runtime role but does not compare ` +
            `with ${qualifiedFunction(sql, 'tenantFunction')}() (a bypass): DROP POLICY ${sqlIdentifier(policy.policy)} ` +
            `ON ${shown}, then ${policyFix(schema, table, sql)}`,
        );
      }
    }
  }

  problems.push(...(await inspectSettings(rows, sql)));
  const foreignKeys = await inspectForeignKeys(rows, schema, tables);
  problems.push(...foreignKeys.problems);
  warnings.push(...foreignKeys.warnings);
  return { problems, warnings, bypassesRls, present, policies };
}

/**
 * The connection's role must be the configured runtime role or a member of it: the RLS
 * migration's grants and policies are written for that role.
 */
async function inspectRuntimeRole(rows: SqlRows, sql: TenancySqlNames): Promise<string[]> {
  const [runtime] = await rows<RuntimeRoleRow>(
    `SELECT r.oid IS NOT NULL AS exists,
            coalesce(pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER'), false) AS member
       FROM (SELECT) AS one
       LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1`,
    [sql.runtimeRole],
  );
  if (runtime?.member) return [];
  if (!runtime?.exists) {
    return [
      `the runtime role ${sql.runtimeRole} (sql.runtimeRole) does not exist: apply the RLS ` +
        `migration, or set sql.runtimeRole to the role it was generated for`,
    ];
  }
  const [{ role }] = await rows<{ role: string }>('SELECT current_user::text AS role');
  return [
    `the role ${role} is neither the runtime role ${sql.runtimeRole} (sql.runtimeRole) nor a ` +
      `member of it, so the RLS migration's grants and policies are not written for it: connect ` +
      `DATABASE_URL as ${sql.runtimeRole}, or set sql.runtimeRole to the role the migration was ` +
      `generated for`,
  ];
}

/** Login defaults of the role (in any or this database) and of this database that weaken RLS. */
async function inspectSettings(rows: SqlRows, sql: TenancySqlNames): Promise<string[]> {
  const settings = await rows<SettingRow>(
    `SELECT r.rolname::text AS role, d.datname::text AS database, x.setting
       FROM pg_catalog.pg_db_role_setting s
       LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
       LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
      CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS x(setting)
      WHERE (s.setrole = 0 AND d.datname = pg_catalog.current_database())
         OR (r.rolname IN (current_user, session_user)
             AND (s.setdatabase = 0 OR d.datname = pg_catalog.current_database()))
      ORDER BY r.rolname NULLS FIRST, d.datname NULLS FIRST, x.setting`,
  );
  const problems: string[] = [];
  for (const row of settings) {
    const at = row.setting.indexOf('=');
    const name = (at < 0 ? row.setting : row.setting.slice(0, at)).toLowerCase();
    const value = at < 0 ? '' : row.setting.slice(at + 1);
    if (!weakensRls(name, sql)) continue;
    const database = row.database === null ? undefined : sqlIdentifier(row.database);
    const role = row.role === null ? undefined : sqlIdentifier(row.role);
    const target =
      role === undefined
        ? `ALTER DATABASE ${database}`
        : database === undefined
          ? `ALTER ROLE ${role}`
          : `ALTER ROLE ${role} IN DATABASE ${database}`;
    const who =
      role === undefined
        ? `the database ${row.database} sets ${name} = ${value} for every role`
        : `the role ${row.role} sets ${name} = ${value} at login` +
          (database === undefined ? '' : ` to the database ${row.database}`);
    problems.push(
      `${who} (${target} SET ...), which can weaken Row-Level Security: remove it, as the owner ` +
        `or a superuser: ${target} RESET ${name}`,
    );
  }
  return problems;
}

/** Plain foreign keys between tenant tables (problems) and CASCADEs from global tables (warning). */
async function inspectForeignKeys(
  rows: SqlRows,
  schema: string,
  tables: readonly TenantTable[],
): Promise<{ problems: string[]; warnings: string[] }> {
  const keys = await rows<ForeignKeyRow>(
    `SELECT con.conname::text AS name, src.relname::text AS from_table,
            dn.nspname::text AS to_schema, dst.relname::text AS to_table,
            ARRAY(SELECT a.attname::text
                    FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                   ORDER BY k.i) AS from_columns,
            ARRAY(SELECT a.attname::text
                    FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                   ORDER BY k.i) AS to_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
       FROM pg_catalog.pg_constraint con
       JOIN pg_catalog.pg_class src ON src.oid = con.conrelid
       JOIN pg_catalog.pg_namespace sn ON sn.oid = src.relnamespace
       JOIN pg_catalog.pg_class dst ON dst.oid = con.confrelid
       JOIN pg_catalog.pg_namespace dn ON dn.oid = dst.relnamespace
      WHERE con.contype = 'f' AND con.conparentid = 0
        AND sn.nspname = $1 AND src.relname = ANY ($2::text[])
      ORDER BY src.relname, con.conname`,
    [schema, tables.map((t) => t.name)],
  );
  const tenantColumn = (tableSchema: string, table: string): string | undefined =>
    tableSchema === schema ? tables.find((t) => t.name === table)?.tenantColumn : undefined;
  const problems: string[] = [];
  const cascades: string[] = [];
  for (const key of keys) {
    const fromColumn = tenantColumn(schema, key.from_table) as string;
    const toColumn = tenantColumn(key.to_schema, key.to_table);
    const from = qualifiedName(schema, key.from_table);
    const to = qualifiedName(key.to_schema, key.to_table);
    if (toColumn === undefined) {
      const actions = [
        key.on_delete === 'c' ? 'ON DELETE CASCADE' : undefined,
        key.on_update === 'c' ? 'ON UPDATE CASCADE' : undefined,
      ].filter((a) => a !== undefined);
      if (actions.length > 0) {
        cascades.push(
          `${key.name} (${to} → ${from} (${key.from_columns.join(', ')}) ${actions.join(' ')})`,
        );
      }
      continue;
    }
    const paired = key.from_columns.some(
      (column, i) => column === fromColumn && key.to_columns[i] === toColumn,
    );
    if (paired) continue;
    const columns = (list: string[]) => list.map(sqlIdentifier).join(', ');
    const fix =
      key.to_columns.length === 1 && key.to_columns[0] === toColumn
        ? `point it at the tenant column instead (FOREIGN KEY (${sqlIdentifier(fromColumn)}) ` +
          `REFERENCES ${to} (${sqlIdentifier(toColumn)})) or drop it`
        : `make it composite: FOREIGN KEY (${columns([fromColumn, ...key.from_columns.filter((c) => c !== fromColumn)])}) ` +
          `REFERENCES ${to} (${columns([toColumn, ...key.to_columns.filter((c) => c !== toColumn)])}) ` +
          `(with a unique constraint on ${to} (${columns([toColumn, ...key.to_columns.filter((c) => c !== toColumn)])}))`;
    problems.push(
      `foreign key ${key.name} on ${from} (${columns(key.from_columns)}) → ${to} ` +
        `(${columns(key.to_columns)}) does not pair ${sqlIdentifier(fromColumn)} with ` +
        `${to}.${sqlIdentifier(toColumn)}: PostgreSQL checks foreign keys without Row-Level ` +
        `Security, so a row of one tenant can reference (and probe for) a row of another; ${fix}`,
    );
  }
  const warnings =
    cascades.length === 0
      ? []
      : [
          `foreign keys cascade from global tables into tenant tables: ${cascades.join('; ')}. ` +
            `Deleting or re-keying such a global row changes rows of every tenant, outside ` +
            `Row-Level Security: keep the runtime role unable to do either (no DELETE policy, ` +
            `immutable keys), or use ON DELETE SET NULL / RESTRICT`,
        ];
  return { problems, warnings };
}
