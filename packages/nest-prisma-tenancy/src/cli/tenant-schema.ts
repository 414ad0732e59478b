import type { SchemaField, SchemaModel } from './prisma-schema.parser';
import { DEFAULT_SQL_NAMES } from '../core/sql/tenancy-sql-names';

/** The names a schema's tenancy is configured with (the CLI's options). */
export interface TenancyNames {
  /** The tenant field of tenant-owned models. Default `workspaceId`. */
  tenantField: string;
  /** The tenant root model (its id is the tenant id). Default `Workspace`. */
  rootModel: string;
  /** The application's runtime role. Default `app_runtime`. */
  runtimeRole: string;
  /** The system client's role, which sees every row. Default `app_admin`. */
  adminRole: string;
  /** The global model of users. Default `User`. */
  userModel: string;
}

export const DEFAULT_TENANCY_NAMES: TenancyNames = {
  tenantField: 'workspaceId',
  rootModel: 'Workspace',
  runtimeRole: DEFAULT_SQL_NAMES.runtimeRole,
  adminRole: DEFAULT_SQL_NAMES.adminRole,
  userModel: 'User',
};

/** The defaults with every defined value of `names` applied. */
export function resolveTenancyNames(names: Partial<TenancyNames> = {}): TenancyNames {
  const defined = Object.entries(names).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_TENANCY_NAMES, ...(Object.fromEntries(defined) as Partial<TenancyNames>) };
}

/** The membership table: which users belong to a tenant (e.g. `workspace_members`). */
export interface Membership {
  model: SchemaModel;
  userColumn: string;
  tenantColumn: string;
}

/** A schema's models sorted into the roles Row-Level Security gives them. */
export interface TenantLayout {
  names: TenancyNames;
  models: ReadonlyMap<string, SchemaModel>;
  /** The tenant root, when the schema has it. */
  root?: SchemaModel;
  /** Tenant-owned models (with the tenant field), in schema order. */
  tenantModels: SchemaModel[];
  /** The user model, when the schema has it. */
  user?: SchemaModel;
  /** The tenant-owned model that pairs a tenant with a user, unique per pair. */
  membership?: Membership;
  /** Global models that belong to one user (a required relation to the user model): accounts, sessions. */
  userOwned: SchemaModel[];
  /** Global models only the system client may touch (verification tokens). */
  adminOnly: SchemaModel[];
}

const VERIFICATION_TOKEN = /^VerificationTokens?$/i;

/** The column of a model's field (its `@map`), or the field name. */
export function columnOf(model: SchemaModel, field: string): string {
  return model.fields.find((f) => f.name === field)?.column ?? field;
}

/** Relation fields of `model` that hold a foreign key (`fields: [...]`) to `target`. */
export function foreignKeysTo(model: SchemaModel, target: string): SchemaField[] {
  return model.fields.filter((f) => f.type === target && f.relationFields.length > 0);
}

/** The scalar fields of `model` that reference the user model, in declaration order. */
export function userReferenceFields(layout: TenantLayout, model: SchemaModel): string[] {
  if (!layout.user) return [];
  return foreignKeysTo(model, layout.user.name).flatMap((relation) => relation.relationFields);
}

/** The user-reference fields that are required (NOT NULL): they name the row's owner. */
export function requiredUserReferenceFields(layout: TenantLayout, model: SchemaModel): string[] {
  return userReferenceFields(layout, model).filter(
    (name) => model.fields.find((f) => f.name === name)?.isOptional === false,
  );
}

/** Sorts a parsed schema's models into tenant root, tenant-owned, identity and global models. */
export function describeTenancy(
  parsed: readonly SchemaModel[],
  names: TenancyNames = DEFAULT_TENANCY_NAMES,
): TenantLayout {
  const models = new Map(parsed.map((model) => [model.name, model]));
  const root = models.get(names.rootModel);
  const user = models.get(names.userModel);
  const tenantModels = parsed.filter(
    (model) => model !== root && model.fields.some((f) => f.name === names.tenantField),
  );
  const layout: TenantLayout = {
    names,
    models,
    root,
    tenantModels,
    user,
    userOwned: [],
    adminOnly: [],
  };
  if (user) {
    for (const model of tenantModels) {
      const [userField] = requiredUserReferenceFields(layout, model);
      const pairsTenant = model.uniques.some(
        (unique) =>
          unique.length === 2 && unique.includes(names.tenantField) && unique.includes(userField),
      );
      if (userField !== undefined && pairsTenant) {
        layout.membership = {
          model,
          userColumn: columnOf(model, userField),
          tenantColumn: columnOf(model, names.tenantField),
        };
        break;
      }
    }
  }
  for (const model of parsed) {
    if (model === root || model === user || tenantModels.includes(model)) continue;
    if (user && requiredUserReferenceFields(layout, model).length > 0) layout.userOwned.push(model);
    else if (VERIFICATION_TOKEN.test(model.name)) layout.adminOnly.push(model);
  }
  return layout;
}
