import type { PrismaSchemaSource } from '../core/client/prisma-client-schema';
import { parsePrismaSchema } from './prisma-schema.parser';

/**
 * The schema description the library's start-up check reads (a generated client's data model),
 * built from a schema file's text instead: `check --schema` checks the database against that file.
 */
export function schemaSourceFromText(schema: string): PrismaSchemaSource {
  const parsed = parsePrismaSchema(schema);
  const names = new Set(parsed.map((model) => model.name));
  return {
    schema,
    models: parsed.map((model) => ({
      name: model.name,
      dbName: model.table === model.name ? null : model.table,
      primaryKey: model.primaryKey.length > 1 ? { fields: model.primaryKey } : null,
      fields: model.fields.map((field) => ({
        name: field.name,
        kind: names.has(field.type) ? 'object' : 'scalar',
        type: field.type,
        dbName: field.column === field.name ? null : field.column,
        isList: field.isList,
        relationFromFields: field.relationFields,
        isId: field.isId,
      })),
    })),
  };
}
