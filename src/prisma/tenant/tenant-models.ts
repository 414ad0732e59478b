import { Prisma } from '@prisma/client';
import { InvalidPrismaModuleOptionsError } from '../prisma-options';
import { parseRelationShapes, readGeneratedSchema, type RelationShape } from './schema-relations';

/** A relation field of a model, as the scoper needs it. */
export interface RelationInfo {
  /** The model at the other end. */
  target: string;
  isList: boolean;
  /** Foreign-key fields on the TARGET side pointing back at this model (empty when they are here). */
  targetForeignKeys: readonly string[];
  /** Foreign-key fields on THIS side (empty when they are on the target). */
  ownForeignKeys: readonly string[];
}

/** How a model relates to tenancy. */
export interface ModelInfo {
  name: string;
  /**
   * The field that holds the tenant id: the tenant column for tenant-owned models, `id` for the
   * tenant root, `undefined` for global models.
   */
  tenantField: string | undefined;
  isRoot: boolean;
  relations: ReadonlyMap<string, RelationInfo>;
  scalarFields: ReadonlySet<string>;
}

/** What the tenant client knows about the schema. */
export interface TenantModelMap {
  tenantField: string;
  rootModel: string | undefined;
  models: ReadonlyMap<string, ModelInfo>;
  /** Tenant-owned models (have the tenant column), without the root. */
  tenantOwned: readonly string[];
}

type DmmfModel = Prisma.DMMF.Model;

/**
 * Reads the generated client's schema description and classifies every model.
 *
 * @param tenantField Name of the tenant column field. Default `workspaceId`.
 * @param tenantOwned Explicit list of tenant-owned models. Default: every model with `tenantField`.
 * @param rootModel The tenant root model (its `id` is the tenant id). Default `Workspace` when it
 *   exists; `null` for none.
 */
export function buildTenantModelMap(
  options: {
    tenantField?: string;
    tenantOwned?: readonly string[];
    rootModel?: string | null;
    models?: readonly DmmfModel[];
    /** Text of the schema the client was generated from. Default: the generated client's copy. */
    schema?: string;
  } = {},
): TenantModelMap {
  const tenantField = options.tenantField ?? 'workspaceId';
  const dmmfModels = options.models ?? Prisma.dmmf.datamodel.models;
  const byName = new Map(dmmfModels.map((m) => [m.name, m]));
  const rootModel =
    options.rootModel === null
      ? undefined
      : (options.rootModel ?? (byName.has('Workspace') ? 'Workspace' : undefined));
  if (rootModel !== undefined && !byName.has(rootModel)) {
    throw new InvalidPrismaModuleOptionsError(
      `tenantRootModel "${rootModel}" is not a model of the Prisma schema; name the model whose id ` +
        `is the tenant id, or pass null when there is none.`,
    );
  }

  const derived = dmmfModels
    .filter((m) => m.fields.some((f) => f.name === tenantField && f.kind === 'scalar'))
    .map((m) => m.name);
  const owned = new Set(options.tenantOwned ?? derived);
  for (const name of owned) {
    const model = byName.get(name);
    if (!model) {
      throw new InvalidPrismaModuleOptionsError(
        `tenantModels names "${name}", which is not a model of the Prisma schema.`,
      );
    }
    if (!model.fields.some((f) => f.name === tenantField && f.kind === 'scalar')) {
      throw new InvalidPrismaModuleOptionsError(
        `tenantModels names "${name}", which has no scalar field "${tenantField}" (the tenantField).`,
      );
    }
  }
  // An explicit list is an assertion about the schema: a model with the tenant column left out of
  // it would be neither scoped by the client nor checked at start-up.
  const missing = derived.filter((name) => !owned.has(name));
  if (missing.length > 0) {
    throw new InvalidPrismaModuleOptionsError(
      `tenantModels leaves out ${missing.join(', ')}, which have the tenant field "${tenantField}". ` +
        `Add them to tenantModels (or leave the option out to derive the list from the schema).`,
    );
  }

  const shapes = relationShapes(dmmfModels, options.schema);
  const models = new Map<string, ModelInfo>();
  for (const model of dmmfModels) {
    const relations = new Map<string, RelationInfo>();
    for (const field of model.fields) {
      if (field.kind !== 'object') continue;
      const opposite = byName
        .get(field.type)
        ?.fields.find(
          (f) =>
            f.relationName === field.relationName &&
            !(f.name === field.name && field.type === model.name),
        );
      const own = shapes(model.name, field);
      relations.set(field.name, {
        target: field.type,
        isList: own.isList,
        ownForeignKeys: own.fromFields,
        targetForeignKeys: opposite ? shapes(field.type, opposite).fromFields : [],
      });
    }
    models.set(model.name, {
      name: model.name,
      tenantField: owned.has(model.name)
        ? tenantField
        : model.name === rootModel
          ? 'id'
          : undefined,
      isRoot: model.name === rootModel,
      relations,
      scalarFields: new Set(model.fields.filter((f) => f.kind !== 'object').map((f) => f.name)),
    });
  }

  return { tenantField, rootModel, models, tenantOwned: [...owned] };
}

type DmmfField = DmmfModel['fields'][number];

/**
 * A lookup of each relation field's shape: from the DMMF when it has them (a full DMMF, e.g. in
 * tests), else from the generated schema's text (Prisma 6.19's runtime data model lacks them).
 *
 * @throws Error when a relation field of the data model is not found in the schema text, which
 *   means the schema and the generated client disagree (run `prisma generate`).
 */
function relationShapes(
  models: readonly DmmfModel[],
  schema: string | undefined,
): (model: string, field: DmmfField) => RelationShape {
  let parsed: Map<string, RelationShape> | undefined;
  return (model, field) => {
    if (typeof field.isList === 'boolean' && Array.isArray(field.relationFromFields)) {
      return { isList: field.isList, fromFields: (field.relationFromFields as string[]).slice() };
    }
    parsed ??= parseRelationShapes(
      schema ?? readGeneratedSchema(),
      new Set(models.map((m) => m.name)),
    );
    const shape = parsed.get(`${model}.${field.name}`);
    if (!shape) {
      throw new Error(
        `The relation ${model}.${field.name} is not in the generated client's schema.prisma; ` +
          `run \`prisma generate\` so that the client and the schema agree.`,
      );
    }
    return shape;
  };
}
