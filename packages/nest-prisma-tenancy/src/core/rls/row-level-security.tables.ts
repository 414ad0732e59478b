import { buildTenantModelMap } from '../client/tenant-models';
import { defaultSchemaSource, type PrismaSchemaSource } from '../client/prisma-client-schema';

/** Which models are tenant-scoped: the options the start-up check shares with the tenant client. */
export interface TenantTableOptions {
  /** The tenant column's field name. Default `workspaceId`. */
  tenantField?: string;
  /** Tenant-owned models. Default: every model with `tenantField`. */
  tenantModels?: readonly string[];
  /** The tenant root (its id is the tenant id). Default `Workspace` when it exists. */
  tenantRootModel?: string | null;
  /**
   * The app's schema, read from its client (`schemaSourceOf(client)`). Default: the schema of
   * `@prisma/client`'s generated client.
   */
  source?: PrismaSchemaSource;
}

/** A tenant-scoped table and the database column that holds its workspace id. */
export interface TenantTable {
  /** The table name (the model's `@@map`, else its name). */
  name: string;
  /** The tenant column (the tenant field's `@map`); `id` for the root table. */
  tenantColumn: string;
}

/**
 * The tenant-scoped tables (tenant-owned and the root) with their tenant columns, sorted by
 * name, from the app's client's schema.
 */
export function tenantTableColumns(options: TenantTableOptions = {}): TenantTable[] {
  const source = options.source ?? defaultSchemaSource();
  const map = buildTenantModelMap({
    tenantField: options.tenantField,
    tenantOwned: options.tenantModels,
    rootModel: options.tenantRootModel,
    models: source.models,
    schema: source.schema,
  });
  const tables: TenantTable[] = [];
  for (const model of source.models) {
    const field = map.models.get(model.name)?.tenantField;
    if (field === undefined) continue;
    const column = model.fields.find((f) => f.name === field)?.dbName ?? field;
    tables.push({ name: model.dbName ?? model.name, tenantColumn: column });
  }
  return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The database table names of the tenant-scoped models (tenant-owned and the root), sorted. */
export function tenantTables(options: TenantTableOptions = {}): string[] {
  return tenantTableColumns(options).map((table) => table.name);
}

/**
 * An SQL identifier as a person would type it: bare when it is a plain lower-case name, quoted
 * otherwise. For messages that show a fix to copy.
 */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, each part as `sqlIdentifier` writes it. */
export function qualifiedName(schema: string, table: string): string {
  return `${sqlIdentifier(schema)}.${sqlIdentifier(table)}`;
}
