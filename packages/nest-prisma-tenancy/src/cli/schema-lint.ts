import { parsePrismaSchema, type SchemaModel } from './prisma-schema.parser';
import { resolveSqlNameFlags } from './sql-name-flags';
import type { TenancySqlNames, TenancySqlNamesOptions } from '../core/sql/tenancy-sql-names';
import {
  describeTenancy,
  resolveTenancyNames,
  type TenancyNames,
  type TenantLayout,
} from './tenant-schema';

/**
 * The tenant column default every tenant-owned model needs: `dbgenerated("<schema>.<tenant
 * function>()")`; the schema may be left out when it is `public` (on the search path).
 */
function tenantDefault(names: TenancySqlNames): { pattern: RegExp; text: string } {
  const fn = `${names.tenantFunction}\\(\\)`;
  const schema = names.functionSchema === 'public' ? '(public\\.)?' : `${names.functionSchema}\\.`;
  return {
    pattern: new RegExp(`^dbgenerated\\(\\s*"${schema}${fn}"\\s*\\)$`),
    text:
      names.functionSchema === 'public'
        ? `dbgenerated("${names.tenantFunction}()")`
        : `dbgenerated("${names.functionSchema}.${names.tenantFunction}()")`,
  };
}

/** What lintSchema is configured with: the schema's tenancy names and the SQL names. */
export interface SchemaLintOptions extends Partial<TenancyNames> {
  /** The SQL names: the tenant function the default must call. Default: DEFAULT_SQL_NAMES. */
  sql?: TenancySqlNamesOptions;
}

function plainForeignKeys(layout: TenantLayout, model: SchemaModel): string[] {
  const { tenantField } = layout.names;
  const problems: string[] = [];
  for (const field of model.fields) {
    const target = layout.models.get(field.type);
    if (!target || !layout.tenantModels.includes(target) || field.relationFields.length === 0) {
      continue;
    }
    if (field.relationFields.includes(tenantField)) continue;
    const fields = field.relationFields.join(', ');
    const references = field.relationReferences.join(', ');
    problems.push(
      `${model.name}.${field.name}: plain foreign key (${fields}) -> ${target.name}(${references}) between tenant models; ` +
        `make it composite: fields: [${tenantField}, ${fields}], references: [${tenantField}, ${references}] ` +
        `(and @@unique([${tenantField}, ${references}]) on ${target.name})`,
    );
  }
  return problems;
}

/**
 * Lints a Prisma schema's tenancy rules (see README "Adding a tenant-owned model"):
 *
 * - a foreign key between two tenant-owned models must include the tenant field (composite), or it
 *   could point at (and probe for) another tenant's row: PostgreSQL checks foreign keys without RLS;
 * - every tenant-owned model has an index or unique constraint that leads with the tenant field;
 * - every tenant field defaults to `dbgenerated("current_workspace_id()")` (the configured
 *   `sql.functionSchema`.`sql.tenantFunction`, schema-qualified unless `public`);
 * - no global model has a to-one relation into a tenant-owned model (a global row cannot belong to
 *   one tenant).
 *
 * @returns one line per problem, `Model.field: what is wrong; how to fix it`, in schema order.
 */
export function lintSchema(schemaText: string, options: SchemaLintOptions = {}): string[] {
  const { sql, ...names } = options;
  const expected = tenantDefault(resolveSqlNameFlags(sql ?? {}));
  const layout = describeTenancy(parsePrismaSchema(schemaText), resolveTenancyNames(names));
  const { tenantField } = layout.names;
  const problems: string[] = [];
  if (layout.tenantModels.length === 0) {
    problems.push(`schema: no model has the tenant field "${tenantField}"`);
  }
  if (!layout.root) {
    problems.push(`schema: no tenant root model "${layout.names.rootModel}"`);
  }
  for (const model of layout.models.values()) {
    const isTenant = layout.tenantModels.includes(model);
    if (isTenant) {
      problems.push(...plainForeignKeys(layout, model));
      const indexed = [...model.indexes, ...model.uniques, model.primaryKey].some(
        (fields) => fields[0] === tenantField,
      );
      if (!indexed) {
        problems.push(
          `${model.name}: no index leads with ${tenantField}; add @@index([${tenantField}, ...]) or @@unique([${tenantField}, id])`,
        );
      }
      const field = model.fields.find((f) => f.name === tenantField);
      if (field && !expected.pattern.test(field.defaultValue?.trim() ?? '')) {
        problems.push(
          `${model.name}.${tenantField}: no tenant default; add @default(${expected.text})`,
        );
      }
    } else if (model !== layout.root) {
      for (const field of model.fields) {
        const target = layout.models.get(field.type);
        if (target && layout.tenantModels.includes(target) && !field.isList) {
          problems.push(
            `${model.name}.${field.name}: to-one relation from the global model ${model.name} into the tenant model ${target.name}; ` +
              `make ${model.name} tenant-owned (add ${tenantField}) or turn the relation around`,
          );
        }
      }
    }
  }
  return problems;
}
