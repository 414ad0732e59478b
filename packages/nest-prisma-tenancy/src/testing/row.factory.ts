import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import pg from 'pg';
import type {
  ColumnInfo,
  SqlRow,
  SqlRunner,
  TableInfo,
  TenantSchemaCatalog,
} from './tenant-schema.catalog';

/** A row still referenced: 23503, or 23001 for a RESTRICT key on PostgreSQL 18. */
const STILL_REFERENCED = new Set(['23503', '23001']);

/** A short random token that makes generated values unique. */
function token(): string {
  return randomBytes(6).toString('hex');
}

/**
 * A fresh value for a column, by type: text values carry a random token and numbers are random,
 * so values of unique columns do not collide.
 *
 * @throws Error for a type the kit cannot generate (give the column a default, or make it nullable).
 */
export function generateValue(table: string, column: ColumnInfo): unknown {
  const one = (): unknown => {
    if (column.isEnum) {
      if (column.enumLabels.length === 0)
        throw new Error(`Enum of ${table}.${column.name} has no labels.`);
      return column.enumLabels[0];
    }
    switch (column.type) {
      case 'text':
      case 'varchar':
      case 'bpchar':
      case 'citext':
      case 'name': {
        const value = `${column.name}-${token()}`;
        return column.maxLength === undefined ? value : value.slice(-column.maxLength);
      }
      case 'uuid':
        return randomUUID();
      case 'int2':
        return randomInt(1, 32_000);
      case 'int4':
        return randomInt(1, 2 ** 31 - 1);
      case 'int8':
        return String(randomInt(1, 2 ** 47));
      case 'numeric':
      case 'float4':
      case 'float8':
        return randomInt(1, 1_000_000) / 1000;
      case 'bool':
        return true;
      case 'timestamptz':
      case 'timestamp':
      case 'date':
        return new Date();
      case 'time':
      case 'timetz':
        return '12:00:00';
      case 'json':
      case 'jsonb':
        return { isolationKit: token() };
      case 'bytea':
        return randomBytes(8);
      case 'inet':
      case 'cidr':
        return `10.${randomInt(0, 255)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;
      default:
        throw new Error(
          `The isolation kit cannot generate a value of type "${column.type}" for the required column ` +
            `${table}.${column.name}: give it a default, or make it nullable.`,
        );
    }
  };
  return column.isArray ? [one()] : one();
}

/**
 * Writes valid rows of any table, generically: required columns get generated values, unique
 * columns unique ones, and required foreign keys a parent row created first in the same tenant
 * (composite keys `(tenant_id, x_id)` copied from the parent), recursively. It runs as a role
 * that sees every tenant, and remembers what it created so that it can remove it.
 */
export class RowFactory {
  /** Rows of global (not tenant-owned) tables it created, in order. */
  private readonly globalRows: { table: TableInfo; row: SqlRow }[] = [];

  constructor(
    private readonly catalog: TenantSchemaCatalog,
    private readonly query: SqlRunner,
  ) {}

  /** Creates the tenant root row for `tenantId` (nothing when the schema has no root). */
  async createTenant(tenantId: string): Promise<void> {
    if (this.catalog.rootTable !== undefined) await this.insert(this.catalog.rootTable, tenantId);
  }

  /**
   * Inserts a row of `tableName` in the tenant `tenantId`, with its required parents, and
   * returns it as stored.
   *
   * @throws Error when required foreign keys form a cycle, or a column cannot be generated.
   */
  async insert(tableName: string, tenantId: string, path: readonly string[] = []): Promise<SqlRow> {
    if (path.includes(tableName)) {
      throw new Error(
        `The isolation kit cannot create a row of ${[...path, tableName].join(' -> ')}: the required ` +
          `foreign keys form a cycle. Make one of them nullable.`,
      );
    }
    const table = this.catalog.table(tableName);
    const values: SqlRow = {};
    if (table.tenantColumn !== undefined) values[table.tenantColumn] = tenantId;

    for (const fk of table.foreignKeys) {
      const open = fk.columns.filter((c) => !(c in values));
      if (open.length === 0) continue;
      // MATCH SIMPLE: a foreign key with a NULL column is not checked, so an optional relation
      // (any nullable column) is simply left out.
      if (open.some((c) => !table.columns.get(c)?.notNull)) continue;
      let parent: SqlRow;
      if (fk.table === this.catalog.rootTable) {
        parent = { [this.catalog.table(fk.table).tenantColumn ?? '']: tenantId };
      } else {
        parent = await this.insert(fk.table, tenantId, [...path, tableName]);
      }
      fk.columns.forEach((column, i) => {
        const value = parent[fk.references[i]];
        if (column in values && values[column] !== value) {
          throw new Error(
            `The isolation kit cannot satisfy ${table.name}(${fk.columns.join(', ')}) -> ` +
              `${fk.table}: its parent row has a different ${column}.`,
          );
        }
        values[column] = value;
      });
    }

    for (const column of table.columns.values()) {
      if (column.name in values || column.generated || column.hasDefault || !column.notNull)
        continue;
      values[column.name] = generateValue(table.name, column);
    }
    const row = await this.insertValues(table, values);
    if (table.tenantColumn === undefined) this.globalRows.push({ table, row });
    return row;
  }

  /**
   * A copy of `row` that does not collide with it: a new primary key (left to its default when it
   * has one) and fresh values for unique columns that are not foreign keys.
   */
  copyOf(table: TableInfo, row: SqlRow): SqlRow {
    const copy: SqlRow = { ...row };
    const foreign = new Set(table.foreignKeys.flatMap((fk) => fk.columns));
    for (const column of table.columns.values()) {
      if (column.generated) delete copy[column.name];
    }
    for (const column of table.primaryKey) {
      const info = table.columns.get(column);
      if (!info || column === table.tenantColumn || foreign.has(column)) continue;
      if (info.hasDefault) delete copy[column];
      else copy[column] = generateValue(table.name, info);
    }
    for (const unique of table.uniques) {
      for (const column of unique) {
        const info = table.columns.get(column);
        if (
          !info ||
          column === table.tenantColumn ||
          foreign.has(column) ||
          table.primaryKey.includes(column)
        ) {
          continue;
        }
        copy[column] = generateValue(table.name, info);
      }
    }
    return copy;
  }

  /** `INSERT ... RETURNING *` of `values` into `table`. */
  async insertValues(
    table: TableInfo,
    values: SqlRow,
    run: SqlRunner = this.query,
  ): Promise<SqlRow> {
    const { sql, params } = insertStatement(table, values);
    const [row] = await run(sql, params);
    return row;
  }

  /**
   * Deletes every row of the tenant `tenantId` (children first; tables are retried until their
   * foreign keys allow it) and its root row.
   */
  async removeTenant(tenantId: string): Promise<void> {
    const tables = this.catalog.tenantTables().filter((t) => t.name !== this.catalog.rootTable);
    let pending = tables;
    for (let pass = 0; pending.length > 0 && pass <= tables.length; pass++) {
      const failed: TableInfo[] = [];
      for (const table of pending) {
        try {
          await this.query(
            `DELETE FROM ${pg.escapeIdentifier(table.name)} WHERE ${pg.escapeIdentifier(table.tenantColumn ?? '')} = $1`,
            [tenantId],
          );
        } catch (error) {
          if (!STILL_REFERENCED.has(String((error as { code?: unknown }).code))) throw error;
          failed.push(table);
        }
      }
      pending = failed;
    }
    const root =
      this.catalog.rootTable === undefined ? undefined : this.catalog.table(this.catalog.rootTable);
    if (root?.tenantColumn !== undefined) {
      await this.query(
        `DELETE FROM ${pg.escapeIdentifier(root.name)} WHERE ${pg.escapeIdentifier(root.tenantColumn)} = $1`,
        [tenantId],
      );
    }
  }

  /** Deletes the global (not tenant-owned) rows it created, newest first; rows still in use stay. */
  async removeGlobalRows(): Promise<void> {
    for (const { table, row } of this.globalRows.splice(0).reverse()) {
      if (table.primaryKey.length === 0) continue;
      const where = table.primaryKey
        .map((c, i) => `${pg.escapeIdentifier(c)} = $${i + 1}`)
        .join(' AND ');
      try {
        await this.query(
          `DELETE FROM ${pg.escapeIdentifier(table.name)} WHERE ${where}`,
          table.primaryKey.map((c) => row[c]),
        );
      } catch (error) {
        if (!STILL_REFERENCED.has(String((error as { code?: unknown }).code))) throw error;
      }
    }
  }
}

/** A parameterised `INSERT INTO table (...) VALUES (...) RETURNING *`. */
export function insertStatement(
  table: TableInfo,
  values: SqlRow,
): { sql: string; params: unknown[] } {
  const columns = Object.keys(values);
  const list = columns.map((c) => pg.escapeIdentifier(c)).join(', ');
  const placeholders = columns.map((_, i) => `$${i + 1}`).join(', ');
  const sql =
    columns.length === 0
      ? `INSERT INTO ${pg.escapeIdentifier(table.name)} DEFAULT VALUES RETURNING *`
      : `INSERT INTO ${pg.escapeIdentifier(table.name)} (${list}) VALUES (${placeholders}) RETURNING *`;
  return { sql, params: columns.map((c) => sqlParam(table.columns.get(c), values[c])) };
}

/** A value as node-postgres should send it (JSON columns as JSON text). */
export function sqlParam(column: ColumnInfo | undefined, value: unknown): unknown {
  if (column && (column.type === 'json' || column.type === 'jsonb') && !column.isArray) {
    return value === null || value === undefined ? null : JSON.stringify(value);
  }
  return value;
}
