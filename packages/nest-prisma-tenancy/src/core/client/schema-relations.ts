/** What the runtime data model of Prisma 6.19 leaves out about a relation field. */
export interface RelationShape {
  isList: boolean;
  /** `@relation(fields: [...])` of this field; empty when the foreign key is on the other side. */
  fromFields: string[];
}

const MODEL_START = /^\s*model\s+(\w+)\s*\{/;
const FIELD = /^\s*(\w+)\s+(\w+)(\[\])?\??(.*)$/;
const RELATION_FIELDS = /@relation\s*\([^)]*?\bfields\s*:\s*\[([^\]]*)\]/;

/**
 * Reads relation shapes (list or not, foreign-key fields) from a Prisma schema's text.
 *
 * The client engine's runtime data model (`Prisma.dmmf` in Prisma 6.19) names each relation field's
 * type and relation but not whether it is a list nor which fields hold the foreign key, and the
 * tenant scoper needs both. The schema the client was generated from is validated by Prisma, and
 * in it every field is one line: `name Type[]? @attributes`, which is all this reads.
 *
 * @returns a map from `Model.field` to its shape, for every field whose type is a model.
 */
export function parseRelationShapes(
  schema: string,
  modelNames: ReadonlySet<string>,
): Map<string, RelationShape> {
  const shapes = new Map<string, RelationShape>();
  let model: string | undefined;
  for (const rawLine of schema.split('\n')) {
    const line = rawLine.replace(/\/\/.*$/, '');
    const start = MODEL_START.exec(line);
    if (start) {
      model = start[1];
      continue;
    }
    if (model === undefined) continue;
    if (/^\s*\}/.test(line)) {
      model = undefined;
      continue;
    }
    const field = FIELD.exec(line);
    if (!field || !modelNames.has(field[2])) continue;
    const fromFields = RELATION_FIELDS.exec(field[4])?.[1];
    shapes.set(`${model}.${field[1]}`, {
      isList: field[3] === '[]',
      fromFields: fromFields
        ? fromFields
            .split(',')
            .map((f) => f.trim())
            .filter(Boolean)
        : [],
    });
  }
  return shapes;
}

const FIELD_ID = /^\s*(\w+)\s+\w+.*@id\b/;
const MODEL_ID = /^\s*@@id\s*\(\s*(?:fields\s*:\s*)?\[([^\]]*)\]/;

/**
 * Reads each model's primary key fields (`@id` on a field, or `@@id([...])`) from a Prisma
 * schema's text: Prisma 6.19's runtime data model does not say which fields form the key.
 *
 * @returns a map from model name to its primary key fields, for every model that has one.
 */
export function parsePrimaryKeys(schema: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let model: string | undefined;
  for (const rawLine of schema.split('\n')) {
    const line = rawLine.replace(/\/\/.*$/, '');
    const start = MODEL_START.exec(line);
    if (start) {
      model = start[1];
      continue;
    }
    if (model === undefined) continue;
    if (/^\s*\}/.test(line)) {
      model = undefined;
      continue;
    }
    const compound = MODEL_ID.exec(line)?.[1];
    if (compound !== undefined) {
      keys.set(
        model,
        compound
          .split(',')
          .map((f) => f.trim().replace(/\(.*$/, ''))
          .filter(Boolean),
      );
      continue;
    }
    const single = FIELD_ID.exec(line)?.[1];
    if (single !== undefined) keys.set(model, [single]);
  }
  return keys;
}
