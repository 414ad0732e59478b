/** A field of a Prisma model, as written in the schema. */
export interface SchemaField {
  name: string;
  /** The type name without `[]` / `?` (a scalar, an enum or a model). */
  type: string;
  isList: boolean;
  isOptional: boolean;
  /** The column name: `@map("...")`, else the field name. */
  column: string;
  /** `@id` on the field. */
  isId: boolean;
  /** `@unique` on the field. */
  isUnique: boolean;
  /** The text inside `@default(...)`, when present. */
  defaultValue?: string;
  /** `@relation(fields: [...])`; empty when absent. */
  relationFields: string[];
  /** `@relation(references: [...])`; empty when absent. */
  relationReferences: string[];
  /** The schema line number (1-based), for messages. */
  line: number;
}

/** A model of a Prisma schema. */
export interface SchemaModel {
  name: string;
  /** The table name: `@@map("...")`, else the model name. */
  table: string;
  fields: SchemaField[];
  /** Primary key fields: `@id` or `@@id([...])`. */
  primaryKey: string[];
  /** Field lists of `@@unique([...])` and single-field `@unique`. */
  uniques: string[][];
  /** Field lists of `@@index([...])`. */
  indexes: string[][];
  line: number;
}

const MODEL_START = /^\s*model\s+(\w+)\s*\{/;
const BLOCK_START = /^\s*(?:enum|type|view|generator|datasource)\s+\w+\s*\{/;
const FIELD = /^\s*(\w+)\s+(\w+)(\[\])?(\?)?(.*)$/;

/** The names inside the first `[...]` after `key:` (or the first `[...]` when key is undefined). */
function listAfter(text: string, key?: string): string[] {
  const pattern = key
    ? new RegExp(`\\b${key}\\s*:\\s*\\[([^\\]]*)\\]`)
    : /^\s*\(\s*(?:fields\s*:\s*)?\[([^\]]*)\]/;
  const inside = pattern.exec(text)?.[1];
  if (inside === undefined) return [];
  return inside
    .split(',')
    .map((name) => name.trim().replace(/\(.*$/, ''))
    .filter(Boolean);
}

/** The text between the parentheses that open at `start` (balanced), or undefined. */
function balanced(text: string, start: number): string | undefined {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(start + 1, i);
  }
  return undefined;
}

/** The argument text of attribute `@name(...)` (not `@@name`), or undefined. */
function attribute(text: string, name: string): string | undefined {
  const match = new RegExp(`(?<!@)@${name}\\s*\\(`).exec(text);
  if (!match) return undefined;
  return balanced(text, match.index + match[0].length - 1);
}

/** The line without its `//` comment (a `//` inside a string literal is kept). */
function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"' && line[i - 1] !== '\\') inString = !inString;
    else if (!inString && line[i] === '/' && line[i + 1] === '/') return line.slice(0, i);
  }
  return line;
}

/**
 * Parses the models of a Prisma schema's text: fields with their columns, defaults and relation
 * keys, primary keys, unique constraints and indexes. Enums, views and composite types are skipped.
 * Reads the text only (no Prisma engine): Prisma's format puts every field and block attribute on
 * one line, which is all this relies on.
 */
export function parsePrismaSchema(text: string): SchemaModel[] {
  const models: SchemaModel[] = [];
  let model: SchemaModel | undefined;
  let skipping = false;
  text.split('\n').forEach((rawLine, index) => {
    const line = stripComment(rawLine);
    if (skipping) {
      if (/^\s*\}/.test(line)) skipping = false;
      return;
    }
    if (!model) {
      const start = MODEL_START.exec(line);
      if (start) {
        model = {
          name: start[1],
          table: start[1],
          fields: [],
          primaryKey: [],
          uniques: [],
          indexes: [],
          line: index + 1,
        };
      } else if (BLOCK_START.test(line)) {
        skipping = true;
      }
      return;
    }
    if (/^\s*\}/.test(line)) {
      models.push(model);
      model = undefined;
      return;
    }
    const trimmed = line.trim();
    if (trimmed.startsWith('@@')) {
      const [, name, rest] = /^@@(\w+)(.*)$/.exec(trimmed) ?? [];
      if (name === 'map') model.table = /"([^"]*)"/.exec(rest)?.[1] ?? model.table;
      else if (name === 'id') model.primaryKey = listAfter(rest);
      else if (name === 'unique') model.uniques.push(listAfter(rest));
      else if (name === 'index') model.indexes.push(listAfter(rest));
      return;
    }
    const field = FIELD.exec(line);
    if (!field) return;
    const attributes = field[5];
    const relation = attribute(attributes, 'relation') ?? '';
    const parsed: SchemaField = {
      name: field[1],
      type: field[2],
      isList: field[3] === '[]',
      isOptional: field[4] === '?',
      column: /"([^"]*)"/.exec(attribute(attributes, 'map') ?? '')?.[1] ?? field[1],
      isId: /(?<!@)@id\b/.test(attributes),
      isUnique: /(?<!@)@unique\b/.test(attributes),
      defaultValue: attribute(attributes, 'default'),
      relationFields: listAfter(relation, 'fields'),
      relationReferences: listAfter(relation, 'references'),
      line: index + 1,
    };
    model.fields.push(parsed);
    if (parsed.isId) model.primaryKey = [parsed.name];
    if (parsed.isUnique) model.uniques.push([parsed.name]);
  });
  return models;
}
