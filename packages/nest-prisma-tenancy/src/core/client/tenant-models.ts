import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';
import { defaultSchemaSource, type DataModelModel } from './prisma-client-schema';
import { parsePrimaryKeys, parseRelationShapes, type RelationShape } from './schema-relations';

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

/**
 * How the tenant client treats a model's rows:
 * - `tenant`: tenant-owned (has the tenant column), only the current tenant's rows;
 * - `root`: the tenant root, only the current tenant's row;
 * - `user`: the user model, the current user's row and the current tenant's members' rows;
 * - `userOwned`: owned by one user (`Account`, `Session`), only the current user's rows;
 * - `systemOnly`: refused entirely (reach it through `SystemPrisma.forReason`);
 * - `global`: not scoped.
 */
export type ModelKind = 'tenant' | 'root' | 'user' | 'userOwned' | 'systemOnly' | 'global';

/** How a model relates to tenancy. */
export interface ModelInfo {
  name: string;
  kind: ModelKind;
  /**
   * The field that holds the tenant id: the tenant column for tenant-owned models, `id` for the
   * tenant root, `undefined` for global models.
   */
  tenantField: string | undefined;
  isRoot: boolean;
  relations: ReadonlyMap<string, RelationInfo>;
  scalarFields: ReadonlySet<string>;
  /** The primary key fields (never changed by an update). */
  idFields: readonly string[];
  /** Fields the tenant client never returns, filters or orders on (identity secrets). */
  secretFields: ReadonlySet<string>;
}

/** The identity part of the model map (`identity` option), when it is on. */
export interface IdentityModelMap {
  /** The user model, if any. */
  userModel: string | undefined;
  /** The user model's primary key field (a single field). */
  userIdField: string | undefined;
  /** The membership join model, if any. */
  membershipModel: string | undefined;
  /** The list relation of the user model to its memberships (e.g. `User.memberships`). */
  membershipRelation: string | undefined;
  /** The field naming the user on the membership and user-owned models. */
  userField: string;
  /** For each user-owned model, its relation to the user model through `userField`, if any. */
  userOwned: ReadonlyMap<string, string | undefined>;
  systemOnly: readonly string[];
  secretFields: ReadonlyMap<string, readonly string[]>;
}

/** What the tenant client knows about the schema. */
export interface TenantModelMap {
  tenantField: string;
  rootModel: string | undefined;
  models: ReadonlyMap<string, ModelInfo>;
  /** Tenant-owned models (have the tenant column), without the root. */
  tenantOwned: readonly string[];
  /** Identity scoping, or `undefined` when it is off (`identity: false`). */
  identity: IdentityModelMap | undefined;
}

/**
 * Identity scoping of the tenant client: which global models hold identities and how they are
 * scoped to the current user and workspace. Every field has a default that fits an Auth.js-shaped
 * schema (`User`, `Account`, `Session`, `VerificationToken`).
 */
export interface IdentityOptions {
  /** The user model. Default `'User'` when the schema has it. */
  userModel?: string;
  /**
   * Membership join model (has the tenant field and `userField`). Default `'WorkspaceMember'` when
   * present.
   */
  membershipModel?: string;
  /** Field naming the user on the membership and user-owned models. Default `'userId'`. */
  userField?: string;
  /**
   * Global models owned by one user. Default: every non-tenant model with scalar `userField` and a
   * relation to `userModel`.
   */
  userOwnedModels?: string[];
  /**
   * Models the tenant client refuses entirely (reach them through `SystemPrisma.forReason`).
   * Default: `'VerificationToken'` when present.
   */
  systemOnlyModels?: string[];
  /**
   * Fields never returned or filtered on by the tenant client, per model. Default: String fields
   * of the user model and user-owned models whose name ends in token/secret/password/hash
   * (case-insensitive), e.g. `Account.accessToken`, `refreshToken`, `idToken`,
   * `Session.sessionTokenHash`.
   */
  secretFields?: Record<string, string[]>;
}

const SECRET_NAME = /(token|secret|password|hash)$/i;

type DmmfModel = DataModelModel;

/**
 * Reads the app's generated client's schema description and classifies every model.
 *
 * @param tenantField Name of the tenant column field. Default `workspaceId`.
 * @param tenantOwned Explicit list of tenant-owned models. Default: every model with `tenantField`.
 * @param rootModel The tenant root model (its `id` is the tenant id). Default `Workspace` when it
 *   exists; `null` for none.
 * @param identity Identity scoping (see IdentityOptions); `false` turns it off. Default: on, with
 *   the defaults of IdentityOptions.
 * @throws InvalidPrismaModuleOptionsError when an option names what the schema does not have.
 */
export function buildTenantModelMap(
  options: {
    tenantField?: string;
    tenantOwned?: readonly string[];
    rootModel?: string | null;
    /** The models (runtime data model or DMMF). Default: those of `@prisma/client`'s client. */
    models?: readonly DmmfModel[];
    /** Text of the schema the client was generated from. Default: with `models`, none. */
    schema?: string;
    identity?: false | IdentityOptions;
  } = {},
): TenantModelMap {
  const tenantField = options.tenantField ?? 'workspaceId';
  const fallback = options.models === undefined ? defaultSchemaSource() : undefined;
  const dmmfModels = options.models ?? fallback?.models ?? [];
  const schemaText = options.schema ?? fallback?.schema;
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
  if (owned.size === 0) {
    throw new InvalidPrismaModuleOptionsError(
      `No tenant models found: no model of the Prisma schema has the scalar field "${tenantField}" ` +
        `(the tenantField), so the tenant client would scope nothing. Set tenantField to the field ` +
        `that holds the tenant id in your tenant-owned models, e.g. PrismaModule.forRoot({ ` +
        `tenantField: 'tenantId' }), or add "${tenantField}" to them and run \`prisma generate\`.`,
    );
  }
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

  const shapes = relationShapes(dmmfModels, schemaText);
  const primaryKeys = primaryKeyLookup(schemaText);
  const relationsOf = new Map<string, Map<string, RelationInfo>>();
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
    relationsOf.set(model.name, relations);
  }

  const identity =
    options.identity === false
      ? undefined
      : identityMap(options.identity ?? {}, {
          byName,
          relationsOf,
          tenantField,
          tenantOwned: owned,
          rootModel,
          primaryKeys,
        });

  const models = new Map<string, ModelInfo>();
  for (const model of dmmfModels) {
    const isRoot = model.name === rootModel;
    const kind: ModelKind = identity?.systemOnly.includes(model.name)
      ? 'systemOnly'
      : isRoot
        ? 'root'
        : owned.has(model.name)
          ? 'tenant'
          : model.name === identity?.userModel
            ? 'user'
            : identity?.userOwned.has(model.name)
              ? 'userOwned'
              : 'global';
    models.set(model.name, {
      name: model.name,
      kind,
      tenantField: owned.has(model.name) ? tenantField : isRoot ? 'id' : undefined,
      isRoot,
      relations: relationsOf.get(model.name) ?? new Map(),
      scalarFields: new Set(model.fields.filter((f) => f.kind !== 'object').map((f) => f.name)),
      idFields: primaryKeys(model),
      secretFields: new Set(identity?.secretFields.get(model.name) ?? []),
    });
  }

  return { tenantField, rootModel, models, tenantOwned: [...owned], identity };
}

/** What identityMap needs to know about the schema. */
interface SchemaFacts {
  byName: ReadonlyMap<string, DmmfModel>;
  relationsOf: ReadonlyMap<string, ReadonlyMap<string, RelationInfo>>;
  tenantField: string;
  tenantOwned: ReadonlySet<string>;
  rootModel: string | undefined;
  primaryKeys: (model: DmmfModel) => string[];
}

/**
 * Applies the defaults of IdentityOptions and checks explicit values against the schema.
 *
 * @throws InvalidPrismaModuleOptionsError naming the option that does not fit the schema.
 */
function identityMap(options: IdentityOptions, facts: SchemaFacts): IdentityModelMap {
  const { byName, relationsOf, tenantField, tenantOwned, rootModel } = facts;
  const invalid = (message: string) => new InvalidPrismaModuleOptionsError(`identity.${message}`);
  const isTenant = (name: string) => tenantOwned.has(name) || name === rootModel;
  const hasScalar = (name: string, field: string) =>
    byName.get(name)?.fields.some((f) => f.name === field && f.kind === 'scalar') ?? false;
  const requireModel = (option: string, name: string) => {
    if (!byName.has(name)) {
      throw invalid(`${option} names "${name}", which is not a model of the Prisma schema.`);
    }
  };
  const userField = options.userField ?? 'userId';

  // The user model. A default that does not fit (tenant-scoped, no single-field key) means none.
  const fitsUserModel = (name: string) =>
    !isTenant(name) && facts.primaryKeys(byName.get(name) as DmmfModel).length === 1;
  let userModel: string | undefined;
  if (options.userModel !== undefined) {
    requireModel('userModel', options.userModel);
    if (!fitsUserModel(options.userModel)) {
      throw invalid(
        `userModel "${options.userModel}" must be a global model (not tenant-scoped) with a ` +
          `single-field primary key (its id).`,
      );
    }
    userModel = options.userModel;
  } else if (byName.has('User') && fitsUserModel('User')) {
    userModel = 'User';
  }
  const userIdField =
    userModel === undefined ? undefined : facts.primaryKeys(byName.get(userModel) as DmmfModel)[0];

  // System-only models.
  const systemOnly =
    options.systemOnlyModels ??
    (byName.has('VerificationToken') &&
    !isTenant('VerificationToken') &&
    userModel !== 'VerificationToken'
      ? ['VerificationToken']
      : []);
  for (const name of systemOnly) {
    requireModel('systemOnlyModels', name);
    if (isTenant(name) || name === userModel) {
      throw invalid(
        `systemOnlyModels names "${name}", which is tenant-scoped or the user model; only other ` +
          `global models can be system-only.`,
      );
    }
  }

  // The membership model and the user model's relation to it.
  const userRelations = userModel !== undefined ? relationsOf.get(userModel) : undefined;
  const membershipRelationTo = (model: string): string | undefined =>
    [...(userRelations ?? new Map<string, RelationInfo>()).entries()].find(
      ([, r]) =>
        r.target === model &&
        r.isList &&
        r.targetForeignKeys.length === 1 &&
        r.targetForeignKeys[0] === userField,
    )?.[0];
  let membershipModel: string | undefined;
  let membershipRelation: string | undefined;
  if (options.membershipModel !== undefined) {
    const name = options.membershipModel;
    requireModel('membershipModel', name);
    membershipRelation = membershipRelationTo(name);
    if (!tenantOwned.has(name) || !hasScalar(name, userField) || !membershipRelation) {
      throw invalid(
        `membershipModel "${name}" must be tenant-owned (have "${tenantField}"), have the scalar ` +
          `field "${userField}" (the userField) and a relation from ${userModel ?? 'the user model'} ` +
          `through it.`,
      );
    }
    membershipModel = name;
  } else if (tenantOwned.has('WorkspaceMember') && hasScalar('WorkspaceMember', userField)) {
    membershipRelation = membershipRelationTo('WorkspaceMember');
    membershipModel = membershipRelation ? 'WorkspaceMember' : undefined;
  }

  // User-owned models, each with its relation to the user model through userField (if any).
  const userRelationOf = (name: string): string | undefined =>
    [...(relationsOf.get(name) ?? new Map<string, RelationInfo>()).entries()].find(
      ([, r]) =>
        r.target === userModel &&
        r.ownForeignKeys.length === 1 &&
        r.ownForeignKeys[0] === userField,
    )?.[0];
  const candidate = (name: string) =>
    !isTenant(name) && name !== userModel && !systemOnly.includes(name);
  const userOwned = new Map<string, string | undefined>();
  if (options.userOwnedModels !== undefined) {
    for (const name of options.userOwnedModels) {
      requireModel('userOwnedModels', name);
      if (!candidate(name) || !hasScalar(name, userField)) {
        throw invalid(
          `userOwnedModels names "${name}", which is tenant-scoped, the user model, system-only, ` +
            `or has no scalar field "${userField}" (the userField).`,
        );
      }
      userOwned.set(name, userRelationOf(name));
    }
  } else if (userModel !== undefined) {
    for (const name of byName.keys()) {
      if (!candidate(name) || !hasScalar(name, userField)) continue;
      const related = [...(relationsOf.get(name)?.values() ?? [])].some(
        (r) => r.target === userModel,
      );
      if (related) userOwned.set(name, userRelationOf(name));
    }
  }

  // Secret fields.
  const secretFields = new Map<string, string[]>();
  if (options.secretFields !== undefined) {
    for (const [name, fields] of Object.entries(options.secretFields)) {
      requireModel('secretFields', name);
      const model = byName.get(name) as DmmfModel;
      const keys = new Set([
        ...facts.primaryKeys(model),
        tenantField,
        ...(userOwned.has(name) || name === membershipModel ? [userField] : []),
      ]);
      for (const field of fields) {
        if (!hasScalar(name, field) || keys.has(field)) {
          throw invalid(
            `secretFields names ${name}.${field}, which is not a scalar field of ${name} or is a ` +
              `key the tenant client scopes by.`,
          );
        }
      }
      secretFields.set(name, [...fields]);
    }
  } else {
    for (const name of [...(userModel !== undefined ? [userModel] : []), ...userOwned.keys()]) {
      const fields = (byName.get(name) as DmmfModel).fields
        .filter((f) => f.kind === 'scalar' && f.type === 'String' && SECRET_NAME.test(f.name))
        .map((f) => f.name);
      if (fields.length > 0) secretFields.set(name, fields);
    }
  }

  return {
    userModel,
    userIdField,
    membershipModel,
    membershipRelation,
    userField,
    userOwned,
    systemOnly: [...systemOnly],
    secretFields,
  };
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
    parsed ??= parseRelationShapes(requireSchema(schema), new Set(models.map((m) => m.name)));
    const shape = parsed.get(`${model}.${field.name}`);
    if (!shape) {
      throw new Error(
        `The relation ${model}.${field.name} is not in the generated client's schema text; ` +
          `run \`prisma generate\` so that the client and the schema agree.`,
      );
    }
    return shape;
  };
}

/**
 * A lookup of each model's primary key fields: from the DMMF when it has them (a full DMMF), else
 * from the generated schema's text (Prisma 6.19's runtime data model lacks them).
 */
function primaryKeyLookup(schema: string | undefined): (model: DmmfModel) => string[] {
  let parsed: Map<string, string[]> | undefined;
  return (model) => {
    const compound = (model as { primaryKey?: { fields?: readonly string[] } | null }).primaryKey;
    if (compound?.fields && compound.fields.length > 0) return [...compound.fields];
    const flagged = model.fields.filter((f) => (f as { isId?: boolean }).isId === true);
    if (flagged.length > 0) return flagged.map((f) => f.name);
    if (model.fields.some((f) => typeof (f as { isId?: unknown }).isId === 'boolean')) return [];
    parsed ??= parsePrimaryKeys(requireSchema(schema));
    return parsed.get(model.name) ?? [];
  };
}

/**
 * The schema text, needed when the models do not say which fields are lists, keys and foreign keys.
 *
 * @throws InvalidPrismaModuleOptionsError when the client carries none.
 */
function requireSchema(schema: string | undefined): string {
  if (schema !== undefined) return schema;
  throw new InvalidPrismaModuleOptionsError(
    'The Prisma Client carries no schema text (_engineConfig.inlineSchema) and its models do not ' +
      'describe relations and keys: pass a client generated by Prisma 6.19 or later (or a full DMMF).',
  );
}
