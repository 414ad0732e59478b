import { defaultSchemaSource } from '../core/client/prisma-client-schema';
import { buildTenantModelMap } from '../core/client/tenant-models';

/** Runs one SQL statement and returns its rows. */
export type SqlRunner = (sql: string, params?: readonly unknown[]) => Promise<SqlRow[]>;

/** A row as node-postgres returns it: column name to value. */
export type SqlRow = Record<string, unknown>;

/** A column, as PostgreSQL declares it. */
export interface ColumnInfo {
  name: string;
  /** The Prisma field stored in this column (from the DMMF, `@map` applied), if any. */
  field: string | undefined;
  /** The type name (`text`, `uuid`, `int4`, an enum's name, ...); for arrays, the element's. */
  type: string;
  isArray: boolean;
  isEnum: boolean;
  /** Labels of an enum type, in order. */
  enumLabels: readonly string[];
  notNull: boolean;
  hasDefault: boolean;
  /** Identity or generated column: never written. */
  generated: boolean;
  /** `varchar(n)` / `char(n)` length. */
  maxLength: number | undefined;
}

/** A foreign key `columns -> table(references)`. */
export interface ForeignKeyInfo {
  columns: readonly string[];
  table: string;
  references: readonly string[];
}

/** A table of the schema, with what writing a valid row needs. */
export interface TableInfo {
  name: string;
  columns: ReadonlyMap<string, ColumnInfo>;
  primaryKey: readonly string[];
  /** Column lists of the primary key and every unique index (partial indexes excluded). */
  uniques: readonly (readonly string[])[];
  foreignKeys: readonly ForeignKeyInfo[];
  /** The column that holds the tenant id (the tenant column, or the root's key), if any. */
  tenantColumn: string | undefined;
}

/** A tenant-owned model as the checks address it, in Prisma terms and in SQL terms. */
export interface TenantModelInfo {
  name: string;
  /** The client property: `approvalItem` for `ApprovalItem`. */
  delegate: string;
  table: TableInfo;
  tenantField: string;
  /** The primary key as Prisma fields and their columns. */
  key: readonly { field: string; column: string }[];
}

/** What the kit knows about the schema: models from the DMMF, constraints from PostgreSQL. */
export interface TenantSchemaCatalog {
  tenantField: string;
  tenantOwned: readonly string[];
  rootTable: string | undefined;
  table(name: string): TableInfo;
  model(name: string): TenantModelInfo;
  /** Tables that hold tenant rows (tenant-owned and the root). */
  tenantTables(): TableInfo[];
}

interface ColumnRow {
  table: string;
  column: string;
  type: string;
  is_array: boolean;
  is_enum: boolean;
  enum_labels: string[] | null;
  not_null: boolean;
  has_default: boolean;
  generated: boolean;
  max_length: number | null;
}

interface ConstraintRow {
  table: string;
  kind: 'u' | 'p' | 'f';
  columns: string[];
  ref_table: string | null;
  ref_columns: string[] | null;
}

const COLUMNS_SQL = `
  SELECT c.relname::text AS table, a.attname::text AS column,
         coalesce(et.typname, t.typname)::text AS type,
         et.oid IS NOT NULL AS is_array,
         coalesce(et.typtype, t.typtype) = 'e' AS is_enum,
         (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
           WHERE e.enumtypid = coalesce(et.oid, t.oid)) AS enum_labels,
         a.attnotnull AS not_null, a.atthasdef AS has_default,
         (a.attidentity <> '' OR a.attgenerated <> '') AS generated,
         CASE WHEN coalesce(et.typname, t.typname) IN ('varchar', 'bpchar') AND a.atttypmod > 4
              THEN a.atttypmod - 4 END AS max_length
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
   WHERE c.relkind IN ('r', 'p')
   ORDER BY c.relname, a.attnum`;

const CONSTRAINTS_SQL = `
  SELECT c.relname::text AS table, CASE WHEN i.indisprimary THEN 'p' ELSE 'u' END AS kind,
         ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                ORDER BY k.ord) AS columns,
         NULL::text AS ref_table, NULL::text[] AS ref_columns
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
   WHERE i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
  UNION ALL
  SELECT c.relname::text, 'f',
         ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                ORDER BY k.ord),
         rc.relname::text,
         ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                ORDER BY k.ord)
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_class rc ON rc.oid = con.confrelid
   WHERE con.contype = 'f'`;

/** The generated client's property name for a model (`AIProviderConfig` -> `aIProviderConfig`). */
export function delegateName(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1);
}

/**
 * Builds the catalog. Which models are tenant-owned, their tables and their fields' columns come
 * from the generated client's DMMF (via buildTenantModelMap, as the tenant client sees them). What
 * a valid row needs (NOT NULL, defaults, foreign keys, unique indexes, enum labels) comes from
 * PostgreSQL: Prisma 6's runtime DMMF no longer carries `isRequired`, `hasDefaultValue`,
 * `relationFromFields` or enum values, and the database is what an INSERT must satisfy anyway.
 */
export async function loadTenantSchemaCatalog(
  query: SqlRunner,
  options: { tenantField?: string; tenantRootModel?: string | null; models?: readonly string[] },
): Promise<TenantSchemaCatalog> {
  const map = buildTenantModelMap({
    tenantField: options.tenantField,
    rootModel: options.tenantRootModel,
  });
  // The same models buildTenantModelMap read: the client's runtime data model (both Prisma majors and
  // generators; `Prisma.dmmf` is absent with the `prisma-client` generator).
  const dmmf = new Map(defaultSchemaSource().models.map((m) => [m.name, m]));
  const tableOfModel = (name: string): string => {
    const model = dmmf.get(name);
    if (!model) throw new Error(`Model "${name}" is not in the Prisma schema.`);
    return model.dbName ?? model.name;
  };
  const columnOf = (model: string, field: string): string => {
    const found = dmmf.get(model)?.fields.find((f) => f.name === field);
    if (!found) throw new Error(`Model "${model}" has no field "${field}".`);
    return found.dbName ?? found.name;
  };
  const fieldsByTable = new Map<string, Map<string, string>>();
  for (const model of dmmf.values()) {
    const columns = new Map<string, string>();
    for (const field of model.fields) {
      if (field.kind !== 'object') columns.set(field.dbName ?? field.name, field.name);
    }
    fieldsByTable.set(model.dbName ?? model.name, columns);
  }

  const tenantColumns = new Map<string, string>();
  for (const name of map.tenantOwned)
    tenantColumns.set(tableOfModel(name), columnOf(name, map.tenantField));
  const rootTable = map.rootModel === undefined ? undefined : tableOfModel(map.rootModel);
  if (map.rootModel !== undefined && rootTable !== undefined) {
    tenantColumns.set(rootTable, columnOf(map.rootModel, 'id'));
  }

  const columnRows = (await query(COLUMNS_SQL)) as unknown as ColumnRow[];
  const constraintRows = (await query(CONSTRAINTS_SQL)) as unknown as ConstraintRow[];
  const tables = new Map<string, TableInfo>();
  const tableNames = [...new Set(columnRows.map((r) => r.table))];
  for (const name of tableNames) {
    const fields = fieldsByTable.get(name);
    const columns = new Map<string, ColumnInfo>(
      columnRows
        .filter((r) => r.table === name)
        .map((r) => [
          r.column,
          {
            name: r.column,
            field: fields?.get(r.column),
            type: r.type,
            isArray: r.is_array,
            isEnum: r.is_enum,
            enumLabels: r.enum_labels ?? [],
            notNull: r.not_null,
            hasDefault: r.has_default,
            generated: r.generated,
            maxLength: r.max_length ?? undefined,
          },
        ]),
    );
    const own = constraintRows.filter((r) => r.table === name);
    tables.set(name, {
      name,
      columns,
      primaryKey: own.find((r) => r.kind === 'p')?.columns ?? [],
      uniques: own.filter((r) => r.kind !== 'f').map((r) => r.columns),
      foreignKeys: own
        .filter((r) => r.kind === 'f')
        .map((r) => ({
          columns: r.columns,
          table: r.ref_table ?? '',
          references: r.ref_columns ?? [],
        })),
      tenantColumn: tenantColumns.get(name),
    });
  }

  const table = (name: string): TableInfo => {
    const info = tables.get(name);
    if (!info) {
      throw new Error(
        `Table "${name}" does not exist in the current schema of the admin connection: apply the migrations first.`,
      );
    }
    return info;
  };
  const tenantOwned = options.models ?? map.tenantOwned;
  for (const name of tenantOwned) {
    if (!map.tenantOwned.includes(name)) {
      throw new Error(
        `Model "${name}" is not tenant-owned (it has no "${map.tenantField}" field), so the isolation kit cannot check it.`,
      );
    }
  }

  return {
    tenantField: map.tenantField,
    tenantOwned,
    rootTable,
    table,
    tenantTables: () => [...tables.values()].filter((t) => t.tenantColumn !== undefined),
    model(name: string): TenantModelInfo {
      const info = table(tableOfModel(name));
      if (!map.tenantOwned.includes(name)) throw new Error(`Model "${name}" is not tenant-owned.`);
      const key = info.primaryKey.map((column) => {
        const field = info.columns.get(column)?.field;
        if (field === undefined)
          throw new Error(`Column ${info.name}.${column} has no Prisma field.`);
        return { field, column };
      });
      if (key.length === 0)
        throw new Error(`Table "${info.name}" of model "${name}" has no primary key.`);
      return { name, delegate: delegateName(name), table: info, tenantField: map.tenantField, key };
    },
  };
}

/** The tenant-owned models of the generated client's schema, without touching the database. */
export function tenantOwnedModels(options: {
  tenantField?: string;
  tenantRootModel?: string | null;
}): string[] {
  return buildTenantModelMap({
    tenantField: options.tenantField,
    rootModel: options.tenantRootModel,
  }).tenantOwned.slice();
}
