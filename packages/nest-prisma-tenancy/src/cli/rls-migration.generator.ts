import { parsePrismaSchema, type SchemaModel } from './prisma-schema.parser';
import {
  CHECK_USER_REFERENCES_SQL,
  PROTECT_KEYS_SQL,
  enableTenantRlsSql,
  grantsSql,
  revokeTemporarySql,
  rolesSql,
  settingVerifierSql,
  type RoleIdentifiers,
} from './rls-sql.templates';
import {
  columnOf,
  describeTenancy,
  requiredUserReferenceFields,
  resolveTenancyNames,
  userReferenceFields,
  type TenancyNames,
  type TenantLayout,
} from './tenant-schema';
import { UsageError } from './usage.error';
import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  type TenancySqlNames,
  type TenancySqlNamesOptions,
} from '../core/sql/tenancy-sql-names';
import { resolveSqlNameFlags } from './sql-name-flags';

/** Columns of identity tables the runtime role never reads back (credentials, token hashes). */
const CREDENTIAL_COLUMN = /(access|refresh|id|session)_?token|token_?hash|password|secret/i;

/** An SQL identifier: bare when it is a plain lower-case name, double-quoted otherwise. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** An SQL string literal. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `'public.table'`, a regclass literal. */
function regclass(model: SchemaModel): string {
  return literal(`public.${ident(model.table)}`);
}

/** `ARRAY['a', 'b']`. */
function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map(literal).join(', ')}]`;
}

/** `public.table`, qualified. */
function table(model: SchemaModel): string {
  return `public.${ident(model.table)}`;
}

/**
 * Key columns that never change: the primary key, the tenant column, the owning user. The tenant
 * column comes after the rest of the key, also when the key includes it (`@@id([workspaceId, id])`),
 * so the generated SQL does not depend on the order of the key's fields.
 */
function keyColumns(layout: TenantLayout, model: SchemaModel, tenantField?: string): string[] {
  const fields = [
    ...model.primaryKey.filter((field) => field !== tenantField),
    ...(tenantField ? [tenantField] : []),
    ...requiredUserReferenceFields(layout, model),
  ];
  return [...new Set(fields.map((field) => columnOf(model, field)))];
}

function identitySql(
  layout: TenantLayout,
  roles: RoleIdentifiers,
  names: TenancySqlNames,
): string[] {
  const { user, membership } = layout;
  const sections: string[] = [];
  const adminAll = (model: SchemaModel) =>
    `DROP POLICY IF EXISTS admin_all ON ${table(model)};\n` +
    `CREATE POLICY admin_all ON ${table(model)} FOR ALL TO ${roles.admin} USING (true) WITH CHECK (true);`;
  const enable = (model: SchemaModel) =>
    `ALTER TABLE ${table(model)} ENABLE ROW LEVEL SECURITY;\n` +
    `ALTER TABLE ${table(model)} FORCE ROW LEVEL SECURITY;`;
  const readable = (model: SchemaModel): string[] => {
    const hidden = model.fields.filter(
      (f) => !f.relationReferences.length && CREDENTIAL_COLUMN.test(f.column),
    );
    if (hidden.length === 0) return [];
    const shown = model.fields
      .filter((f) => !hidden.includes(f) && !layout.models.has(f.type))
      .map((f) => ident(f.column));
    return [
      `REVOKE SELECT ON TABLE ${table(model)} FROM ${roles.runtime};`,
      `GRANT SELECT (${shown.join(', ')})\n  ON TABLE ${table(model)} TO ${roles.runtime};`,
    ];
  };
  if (user) {
    const id = ident(columnOf(user, user.primaryKey[0] ?? 'id'));
    const me = `${id} = (SELECT ${qualifiedFunction(names, 'userFunction')}())`;
    const member = membership
      ? `\n  OR EXISTS (SELECT 1 FROM ${table(membership.model)} m\n` +
        `              WHERE m.${ident(membership.userColumn)} = ${ident(user.table)}.${id} AND m.${ident(membership.tenantColumn)} = (SELECT ${qualifiedFunction(names, 'tenantFunction')}()))`
      : '';
    sections.push(
      [
        `-- ${user.name}: visible to the current user${membership ? ` and the current tenant's members (${membership.model.name})` : ''}; only the current user's row is writable; no DELETE through the runtime role.`,
        enable(user),
        ...['identity_select', 'identity_insert', 'identity_update', 'identity_delete'].map(
          (name) => `DROP POLICY IF EXISTS ${name} ON ${table(user)};`,
        ),
        `CREATE POLICY identity_select ON ${table(user)} FOR SELECT USING (\n  ${me}${member});`,
        `CREATE POLICY identity_insert ON ${table(user)} FOR INSERT\n  WITH CHECK (${me});`,
        `CREATE POLICY identity_update ON ${table(user)} FOR UPDATE\n  USING (${me})\n  WITH CHECK (${me});`,
        adminAll(user),
        ...readable(user),
      ].join('\n'),
    );
  }
  for (const model of layout.userOwned) {
    const owner = ident(columnOf(model, requiredUserReferenceFields(layout, model)[0]));
    const mine = `${owner} = (SELECT ${qualifiedFunction(names, 'userFunction')}())`;
    sections.push(
      [
        `-- ${model.name}: the current user's rows only.`,
        enable(model),
        `DROP POLICY IF EXISTS identity_own ON ${table(model)};`,
        `CREATE POLICY identity_own ON ${table(model)} FOR ALL\n  USING (${mine})\n  WITH CHECK (${mine});`,
        adminAll(model),
        ...readable(model),
      ].join('\n'),
    );
  }
  for (const model of layout.adminOnly) {
    sections.push(
      [
        `-- ${model.name}: the system client only.`,
        enable(model),
        adminAll(model),
        `REVOKE ALL ON TABLE ${table(model)} FROM ${roles.runtime};`,
      ].join('\n'),
    );
  }
  return sections;
}

/** What the generator is configured with: the schema's tenancy names and the SQL names. */
export interface RlsMigrationOptions extends Partial<TenancyNames> {
  /**
   * The names of the SQL objects (setting, functions, schemas, roles); the app must be configured
   * with the same (PrismaModule option `sql`). Default: DEFAULT_SQL_NAMES.
   */
  sql?: TenancySqlNamesOptions;
}

/** The header line that lists names other than the defaults, for whoever configures the app. */
function namesLine(names: TenancySqlNames): string {
  const changed = (Object.keys(DEFAULT_SQL_NAMES) as (keyof TenancySqlNames)[]).filter(
    (key) => key !== 'runtimeRole' && key !== 'adminRole' && names[key] !== DEFAULT_SQL_NAMES[key],
  );
  if (changed.length === 0) return '';
  return (
    `\n-- SQL names (configure the app with the same, PrismaModule option sql): ` +
    changed.map((key) => `${key} ${names[key]}`).join(', ') +
    '.'
  );
}

/**
 * The SQL of the Row-Level Security migration for a Prisma schema: roles, grants, the function
 * schema (when not `public`), the signed tenant setting's key table and verifier,
 * `enable_tenant_rls` on the tenant root (keyed on its id) and on every tenant-owned table, tenant
 * column defaults, immutable keys, user-reference checks, identity-table policies and no
 * TEMPORARY, every object under its configured name (`sql`). Idempotent: apply it again after
 * adding a model.
 *
 * @throws UsageError for names that are not plain lower-case identifiers (naming the `--sql-*`
 *   flag), or a schema without tenant models.
 */
export function generateRlsMigration(
  schemaText: string,
  options: RlsMigrationOptions = {},
): string {
  const { sql, ...tenancy } = options;
  const names = resolveSqlNameFlags({
    ...sql,
    ...(tenancy.runtimeRole === undefined ? {} : { runtimeRole: tenancy.runtimeRole }),
    ...(tenancy.adminRole === undefined ? {} : { adminRole: tenancy.adminRole }),
  });
  const resolved = resolveTenancyNames({
    ...tenancy,
    runtimeRole: names.runtimeRole,
    adminRole: names.adminRole,
  });
  const layout = describeTenancy(parsePrismaSchema(schemaText), resolved);
  if (layout.tenantModels.length === 0 && !layout.root) {
    throw new UsageError(
      `the schema has no tenant root model "${resolved.rootModel}" and no model with the tenant field "${resolved.tenantField}"`,
    );
  }
  const roles: RoleIdentifiers = {
    runtime: ident(resolved.runtimeRole),
    admin: ident(resolved.adminRole),
  };
  const literals: RoleIdentifiers = {
    runtime: literal(resolved.runtimeRole),
    admin: literal(resolved.adminRole),
  };
  const { root, tenantModels, user } = layout;
  const tenantColumn = (model: SchemaModel) => columnOf(model, resolved.tenantField);

  const enable = qualifiedFunction(names, 'enableFunction');
  const rls: string[] = [];
  if (root) {
    rls.push(
      `SELECT ${enable}(${regclass(root)}, ${literal(columnOf(root, root.primaryKey[0] ?? 'id'))});`,
    );
  }
  for (const model of tenantModels) {
    const column = tenantColumn(model);
    rls.push(
      column === 'workspace_id'
        ? `SELECT ${enable}(${regclass(model)});`
        : `SELECT ${enable}(${regclass(model)}, ${literal(column)});`,
    );
  }
  const defaults = tenantModels.map(
    (model) =>
      `ALTER TABLE ${table(model)} ALTER COLUMN ${ident(tenantColumn(model))} SET DEFAULT ${qualifiedFunction(names, 'tenantFunction')}();`,
  );
  const protectedTables: [SchemaModel, string[]][] = [];
  if (user) protectedTables.push([user, keyColumns(layout, user)]);
  for (const model of layout.userOwned) protectedTables.push([model, keyColumns(layout, model)]);
  if (root) protectedTables.push([root, keyColumns(layout, root)]);
  for (const model of tenantModels) {
    protectedTables.push([model, keyColumns(layout, model, resolved.tenantField)]);
  }
  const userReferences = tenantModels
    .map(
      (model) =>
        [model, userReferenceFields(layout, model).map((f) => columnOf(model, f))] as const,
    )
    .filter(([, columns]) => columns.length > 0);

  const sections = [
    `-- Row-Level Security for the tenant models of this schema, generated by \`nest-prisma-tenancy rls generate\`
-- (tenant field ${resolved.tenantField}, root ${resolved.rootModel}, roles ${resolved.runtimeRole} and ${resolved.adminRole}).${namesLine(names)}
-- Idempotent: generate and apply it again after adding a model. Run it as the tables' owner.`,
    rolesSql(roles, literals),
    grantsSql(roles),
    settingVerifierSql(roles, names),
    enableTenantRlsSql(roles, names),
    ['-- The tenant root (keyed on its id) and every tenant-owned table.', ...rls].join('\n'),
    [
      '-- Tenant columns default to the current workspace: with none set, NOT NULL refuses the row.',
      ...defaults,
    ].join('\n'),
    PROTECT_KEYS_SQL,
    protectedTables
      .filter(([, columns]) => columns.length > 0)
      .map(
        ([model, columns]) =>
          `SELECT public.protect_keys(${regclass(model)}, ${textArray(columns)});`,
      )
      .join('\n'),
    ...identitySql(layout, roles, names),
  ];
  if (user && userReferences.length > 0) {
    sections.push(
      CHECK_USER_REFERENCES_SQL,
      userReferences
        .map(
          ([model, columns]) =>
            `SELECT public.check_user_references(${regclass(model)}, ${textArray(columns)});`,
        )
        .join('\n'),
    );
  }
  sections.push(revokeTemporarySql(roles));
  return sections.join('\n\n') + '\n';
}
