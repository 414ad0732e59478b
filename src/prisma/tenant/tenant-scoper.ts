import { Prisma } from '@prisma/client';
import { CrossTenantWriteError } from '../errors/cross-tenant-write.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import type { ModelInfo, RelationInfo, TenantModelMap } from './tenant-models';

type Args = Record<string, unknown>;
type Where = Record<string, unknown>;

const READ_MANY = new Set([
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  'count',
  'aggregate',
  'groupBy',
]);
const READ_UNIQUE = new Set(['findUnique', 'findUniqueOrThrow']);
const WRITE_MANY = new Set(['updateMany', 'updateManyAndReturn', 'deleteMany']);
const CREATE_MANY = new Set(['createMany', 'createManyAndReturn']);
/** Every model operation this scoper knows; anything else on a tenant-scoped model is refused. */
export const SCOPED_OPERATIONS = new Set([
  ...READ_MANY,
  ...READ_UNIQUE,
  ...WRITE_MANY,
  ...CREATE_MANY,
  'create',
  'update',
  'upsert',
  'delete',
]);

/** A plain argument object (not an array, not `Prisma.skip`, which means "leave this out"). */
function isObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && value !== Prisma.skip
  );
}

/** Tenant ids are UUIDs: compare them case-insensitively. */
export function sameId(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function mapOneOrMany(value: unknown, fn: (item: Args) => Args): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => (isObject(item) ? fn(item) : item));
  return isObject(value) ? fn(value) : value;
}

/**
 * Rewrites Prisma Client arguments so that every row they read or write on a tenant-scoped model
 * (tenant-owned models and the tenant root) belongs to the current tenant: layer 1 of the isolation.
 *
 * - Filters (`where` of reads, `updateMany`, `deleteMany`) are AND-ed with the tenant.
 * - Unique lookups (`findUnique`, `update`, `delete`, `upsert`, `connect`, `cursor`, ...) get the
 *   tenant as an extra condition, so another tenant's id reads as "not found".
 * - Creates get the tenant filled in; a different explicit tenant is refused, as is moving a row.
 * - Relation filters (`some`/`every`/`none`/`is`/`isNot`), `include`/`select`/`_count` of
 *   relations, and nested writes are scoped at every depth, from global models too.
 * - What cannot be scoped (a to-one relation into a tenant model that does not carry the tenant in
 *   its foreign key) is refused with `UnscopableQueryError`, never run unscoped.
 *
 * The tenant is only asked for (`tenant()`) when the query reaches a tenant-scoped model, so
 * global-only queries run without a tenant.
 */
export class TenantScoper {
  constructor(private readonly map: TenantModelMap) {}

  /** The model's info, or throws for a model the schema does not have. */
  private info(model: string): ModelInfo {
    const info = this.map.models.get(model);
    if (!info) throw new Error(`Unknown Prisma model "${model}".`);
    return info;
  }

  /** True when the model holds tenant rows (tenant-owned or the root). */
  isScoped(model: string): boolean {
    return this.info(model).tenantField !== undefined;
  }

  /**
   * Scopes `args` of `operation` on `model`.
   *
   * @param tenant Returns the current tenant id, or throws when there is none.
   */
  scope(model: string, operation: string, args: Args | undefined, tenant: () => string): Args {
    const info = this.info(model);
    const input: Args = { ...(args ?? {}) };
    const scoped = info.tenantField !== undefined;
    // Every operation on a tenant-scoped model needs a tenant, even one that would touch no row.
    if (scoped) tenant();
    if (scoped && !SCOPED_OPERATIONS.has(operation)) {
      throw new UnscopableQueryError(
        model,
        operation,
        `the operation "${operation}" is not supported`,
      );
    }

    if (READ_MANY.has(operation) || WRITE_MANY.has(operation)) {
      input.where = this.filter(info, input.where, tenant, scoped);
    } else if (READ_UNIQUE.has(operation) || operation === 'delete') {
      input.where = this.unique(info, input.where, tenant, scoped);
    } else if (operation === 'update') {
      input.where = this.unique(info, input.where, tenant, scoped);
      input.data = this.data(info, input.data, 'update', tenant);
    } else if (operation === 'upsert') {
      input.where = this.unique(info, input.where, tenant, scoped);
      input.create = this.create(info, input.create, tenant, undefined);
      input.update = this.data(info, input.update, 'update', tenant);
    } else if (operation === 'create') {
      input.data = this.create(info, input.data, tenant, undefined);
    } else if (CREATE_MANY.has(operation)) {
      input.data = mapOneOrMany(input.data, (item) =>
        this.create(info, item, tenant, undefined, true),
      );
    }
    if (operation === 'updateMany' || operation === 'updateManyAndReturn') {
      input.data = this.data(info, input.data, 'update', tenant);
    }
    if (isObject(input.cursor)) input.cursor = this.cursor(info, input.cursor, tenant);
    if (input.orderBy !== undefined) this.orderBy(info, input.orderBy);
    this.selection(info, input, tenant);
    return input;
  }

  /**
   * A cheaper plan for the most common read, `findUnique(OrThrow)` by plain unique fields on a
   * tenant-scoped model: leave `where` as it is and check the row's tenant after the read.
   *
   * Why: with the tenant added to `where`, Prisma no longer compacts concurrent lookups into one
   * `WHERE id IN (...)` and runs them one by one (about 4x slower under concurrency). Left as it is,
   * lookups batch again (within one tenant only: see the batch guard), Row-Level Security still
   * hides other tenants' rows, and the check below keeps layer 1 independent of it.
   *
   * @returns `undefined` when the query does not qualify (a relation filter, AND/OR/NOT, or a
   *   `select` of relations, which is also how the fluent API arrives); then use `scope()`.
   */
  verifiedUniqueRead(
    model: string,
    operation: string,
    args: Args | undefined,
    tenant: () => string,
  ): { args: Args; tenantField: string; stripTenantField: boolean } | undefined {
    const info = this.info(model);
    const field = info.tenantField;
    if (field === undefined || !READ_UNIQUE.has(operation) || !args || !isObject(args.where)) {
      return undefined;
    }
    if (!Object.keys(args.where).every((key) => info.scalarFields.has(key))) return undefined;
    const select = args.select;
    if (select !== undefined) {
      if (!isObject(select) || Object.keys(select).some((key) => info.relations.has(key))) {
        return undefined;
      }
    }
    tenant();
    const input: Args = { ...args };
    let stripTenantField = false;
    if (isObject(select) && select[field] !== true) {
      input.select = { ...select, [field]: true };
      stripTenantField = true;
    }
    if (isObject(input.omit) && input.omit[field] === true) {
      input.omit = { ...input.omit, [field]: false };
      stripTenantField = true;
    }
    this.selection(info, input, tenant);
    return { args: input, tenantField: field, stripTenantField };
  }

  /** `{ [tenantField]: tenant }` for a scoped model. */
  private tenantFilter(info: ModelInfo, tenant: () => string): Where {
    return { [info.tenantField as string]: tenant() };
  }

  /** A non-unique filter: relation filters scoped, AND the tenant when `addTenant`. */
  private filter(info: ModelInfo, where: unknown, tenant: () => string, addTenant: boolean): Where {
    const scoped = isObject(where) ? this.where(info, where, tenant) : undefined;
    if (!addTenant) return scoped ?? {};
    const own = this.tenantFilter(info, tenant);
    return scoped && Object.keys(scoped).length > 0 ? { AND: [scoped, own] } : own;
  }

  /** A unique filter (WhereUniqueInput): the tenant goes in as an extra AND condition. */
  private unique(
    info: ModelInfo,
    where: unknown,
    tenant: () => string,
    addTenant: boolean,
  ): unknown {
    if (!isObject(where)) return where;
    const scoped = this.where(info, where, tenant);
    if (!addTenant) return scoped;
    return { ...scoped, AND: [...asArray(scoped.AND), this.tenantFilter(info, tenant)] };
  }

  /** A cursor takes plain unique fields only (no AND): the tenant goes in as one of them. */
  private cursor(info: ModelInfo, cursor: Args, tenant: () => string): Args {
    return info.tenantField === undefined ? cursor : { ...cursor, [info.tenantField]: tenant() };
  }

  /**
   * Ordering by a relation (its fields or its `_count`) cannot be filtered by tenant; it is only
   * allowed where the related rows are in the same tenant by construction.
   */
  private orderBy(info: ModelInfo, orderBy: unknown): void {
    for (const entry of asArray(orderBy)) {
      if (!isObject(entry)) continue;
      for (const [key, value] of Object.entries(entry)) {
        const relation = info.relations.get(key);
        if (!relation || !isObject(value)) continue;
        if (this.isScoped(relation.target) && !this.sameTenantByConstruction(info, relation)) {
          throw new UnscopableQueryError(
            info.name,
            `orderBy.${key}`,
            `ordering by the tenant-scoped relation ${relation.target} from here would rank by ` +
              `other workspaces' rows too`,
          );
        }
        if (!relation.isList) this.orderBy(this.info(relation.target), value);
      }
    }
  }

  /** Scopes the relation filters inside a where object (not the top-level tenant condition). */
  private where(info: ModelInfo, where: Where, tenant: () => string): Where {
    const out: Where = {};
    for (const [key, value] of Object.entries(where)) {
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        out[key] = Array.isArray(value)
          ? value.map((v: unknown) => (isObject(v) ? this.where(info, v, tenant) : v))
          : isObject(value)
            ? this.where(info, value, tenant)
            : value;
        continue;
      }
      const relation = info.relations.get(key);
      out[key] = relation && isObject(value) ? this.relationFilter(relation, value, tenant) : value;
    }
    return out;
  }

  private relationFilter(relation: RelationInfo, value: Where, tenant: () => string): Where {
    const target = this.info(relation.target);
    const scoped = target.tenantField !== undefined;
    const inner = (w: unknown) => this.filter(target, w, tenant, scoped);
    if (relation.isList) {
      const out: Where = { ...value };
      if ('some' in value && value.some !== Prisma.skip) out.some = inner(value.some);
      if ('none' in value && value.none !== Prisma.skip) out.none = inner(value.none);
      if ('every' in value && value.every !== Prisma.skip) {
        const condition = isObject(value.every) ? this.where(target, value.every, tenant) : {};
        // "every related row of this tenant matches": rows of other tenants do not count.
        out.every = scoped
          ? { OR: [{ NOT: this.tenantFilter(target, tenant) }, condition] }
          : condition;
      }
      return out;
    }
    if ('is' in value || 'isNot' in value) {
      const out: Where = { ...value };
      if (isObject(value.is)) out.is = inner(value.is);
      if (isObject(value.isNot)) out.isNot = inner(value.isNot);
      return out;
    }
    return inner(value);
  }

  /** True when rows reached through `relation` from a row of `from` are in the same tenant. */
  private sameTenantByConstruction(from: ModelInfo, relation: RelationInfo): boolean {
    if (from.tenantField === undefined) return false;
    return [...relation.ownForeignKeys, ...relation.targetForeignKeys].includes(
      this.map.tenantField,
    );
  }

  /** True when the relation's foreign key includes the tenant column (a composite tenant key). */
  private carriesTenant(relation: RelationInfo): boolean {
    return [...relation.ownForeignKeys, ...relation.targetForeignKeys].includes(
      this.map.tenantField,
    );
  }

  /** Scopes `select`, `include` and `_count` of `args` (in place) for a query on `info`. */
  private selection(info: ModelInfo, args: Args, tenant: () => string): void {
    for (const key of ['select', 'include'] as const) {
      const selection = args[key];
      if (!isObject(selection)) continue;
      const out: Args = {};
      for (const [field, value] of Object.entries(selection)) {
        if (field === '_count') out[field] = this.count(info, value, tenant);
        else {
          const relation = info.relations.get(field);
          out[field] = relation
            ? this.relationSelection(info, field, relation, value, tenant)
            : value;
        }
      }
      args[key] = out;
    }
  }

  private relationSelection(
    from: ModelInfo,
    field: string,
    relation: RelationInfo,
    value: unknown,
    tenant: () => string,
  ): unknown {
    if (value === false || value === undefined || value === Prisma.skip) return value;
    const target = this.info(relation.target);
    const scoped = target.tenantField !== undefined;
    const nested: Args = isObject(value) ? { ...value } : {};
    if (relation.isList) {
      if (scoped || nested.where !== undefined) {
        nested.where = this.filter(target, nested.where, tenant, scoped);
      }
      if (isObject(nested.cursor)) nested.cursor = this.cursor(target, nested.cursor, tenant);
    } else if (scoped && !this.sameTenantByConstruction(from, relation)) {
      throw new UnscopableQueryError(
        from.name,
        field,
        `a to-one relation into the tenant-scoped model ${target.name} cannot be filtered by tenant, ` +
          `because its foreign key does not include ${this.map.tenantField}`,
      );
    }
    this.selection(target, nested, tenant);
    return Object.keys(nested).length === 0 && value === true ? true : nested;
  }

  private count(info: ModelInfo, value: unknown, tenant: () => string): unknown {
    if (value === Prisma.skip) return value;
    const lists = [...info.relations.entries()].filter(([, r]) => r.isList);
    const scopedLists = lists.filter(([, r]) => this.isScoped(r.target));
    if (value === true) {
      if (scopedLists.length === 0) return true;
      return {
        select: Object.fromEntries(
          lists.map(([name, r]) => [
            name,
            this.isScoped(r.target)
              ? { where: this.filter(this.info(r.target), undefined, tenant, true) }
              : true,
          ]),
        ),
      };
    }
    if (!isObject(value) || !isObject(value.select)) return value;
    const select: Args = {};
    for (const [name, v] of Object.entries(value.select)) {
      const relation = info.relations.get(name);
      if (!relation || v === false || v === Prisma.skip) {
        select[name] = v;
        continue;
      }
      const target = this.info(relation.target);
      const where = isObject(v) ? v.where : undefined;
      select[name] =
        target.tenantField !== undefined || where !== undefined
          ? {
              ...(isObject(v) ? v : {}),
              where: this.filter(target, where, tenant, target.tenantField !== undefined),
            }
          : v;
    }
    return { ...value, select };
  }

  /** The relation of a tenant-owned model to the root that carries the tenant column, if any. */
  private rootRelation(info: ModelInfo): string | undefined {
    if (info.isRoot || info.tenantField === undefined || this.map.rootModel === undefined)
      return undefined;
    for (const [name, relation] of info.relations) {
      if (
        relation.target === this.map.rootModel &&
        relation.ownForeignKeys.length === 1 &&
        relation.ownForeignKeys[0] === info.tenantField
      ) {
        return name;
      }
    }
    return undefined;
  }

  /**
   * Create data for `info`. `via` is the relation a nested create comes through (the parent
   * fills in the tenant when that relation's foreign key includes it).
   */
  private create(
    info: ModelInfo,
    data: unknown,
    tenant: () => string,
    via: RelationInfo | undefined,
    scalarsOnly = false,
  ): Args {
    if (!isObject(data)) return data as Args;
    const out = this.data(info, data, 'create', tenant);
    const field = info.tenantField;
    if (field === undefined) return out;
    const t = tenant();
    if (info.isRoot) {
      if (out.id !== undefined && !sameId(out.id, t)) {
        throw new CrossTenantWriteError(
          info.name,
          'a workspace can only be created with the current tenant id',
        );
      }
      return { ...out, id: t };
    }
    if (via && via.targetForeignKeys.includes(field)) return out; // the parent sets the tenant
    if (field in out) return out; // checked equal to the tenant by data()
    const rootRelation = this.rootRelation(info);
    if (rootRelation && rootRelation in out) return out; // checked by data()
    const checked =
      !scalarsOnly && Object.keys(out).some((key) => info.relations.has(key) && isObject(out[key]));
    if (checked && rootRelation) return { ...out, [rootRelation]: { connect: { id: t } } };
    return { ...out, [field]: t };
  }

  /** Create or update data: the tenant column and root relation checked, nested writes scoped. */
  private data(
    info: ModelInfo,
    data: unknown,
    mode: 'create' | 'update',
    tenant: () => string,
  ): Args {
    if (!isObject(data)) return data as Args;
    const out: Args = {};
    const rootRelation = this.rootRelation(info);
    for (const [key, value] of Object.entries(data)) {
      if (info.tenantField !== undefined && key === info.tenantField && value !== undefined) {
        const given = isObject(value) && 'set' in value ? value.set : value;
        if (!sameId(given, tenant())) {
          throw new CrossTenantWriteError(
            info.name,
            mode === 'create'
              ? `${key} names another workspace`
              : `changing ${key} would move the row to another workspace`,
          );
        }
        out[key] = value;
        continue;
      }
      if (key === rootRelation) {
        const connect = isObject(value) ? value.connect : undefined;
        const ok =
          isObject(value) &&
          Object.keys(value).length === 1 &&
          isObject(connect) &&
          Object.keys(connect).length === 1 &&
          sameId(connect.id, tenant());
        if (!ok) {
          throw new CrossTenantWriteError(
            info.name,
            `${key} may only be { connect: { id: <current workspace> } }`,
          );
        }
        out[key] = value;
        continue;
      }
      const relation = info.relations.get(key);
      out[key] =
        relation && isObject(value) ? this.nestedWrite(info, key, relation, value, tenant) : value;
    }
    return out;
  }

  private nestedWrite(
    from: ModelInfo,
    field: string,
    relation: RelationInfo,
    ops: Args,
    tenant: () => string,
  ): Args {
    const target = this.info(relation.target);
    const scoped = target.tenantField !== undefined;
    const unique = (w: Args) => this.unique(target, w, tenant, scoped) as Args;
    const filter = (w: Args) => this.filter(target, w, tenant, scoped);
    const create = (d: Args) => this.create(target, d, tenant, relation);
    const update = (d: Args) => this.data(target, d, 'update', tenant);
    const out: Args = {};
    for (const [op, value] of Object.entries(ops)) {
      if ((op === 'disconnect' || op === 'set') && this.carriesTenant(relation)) {
        const keys = [...relation.ownForeignKeys, ...relation.targetForeignKeys].filter(
          (k) => k !== this.map.tenantField,
        );
        throw new UnscopableQueryError(
          from.name,
          `${field}.${op}`,
          `Prisma would set every field of the composite foreign key to NULL, ${this.map.tenantField} ` +
            `included; set ${keys.join(', ')} to null on the ${relation.ownForeignKeys.length > 0 ? from.name : target.name} ` +
            `row instead (e.g. { ${keys[0] ?? 'xId'}: null })`,
        );
      }
      switch (op) {
        case 'create':
          out[op] = mapOneOrMany(value, create);
          break;
        case 'createMany':
          out[op] = isObject(value)
            ? {
                ...value,
                data: mapOneOrMany(value.data, (d) =>
                  this.create(target, d, tenant, relation, true),
                ),
              }
            : value;
          break;
        case 'connect':
        case 'set':
          out[op] = mapOneOrMany(value, unique);
          break;
        case 'disconnect':
        case 'delete':
          if (
            value === true &&
            scoped &&
            !relation.isList &&
            !this.sameTenantByConstruction(from, relation)
          ) {
            throw new UnscopableQueryError(
              from.name,
              `${field}.${op}`,
              'use a where filter instead of true',
            );
          }
          out[op] = relation.isList ? mapOneOrMany(value, unique) : mapOneOrMany(value, filter);
          break;
        case 'deleteMany':
          out[op] = mapOneOrMany(value, filter);
          break;
        case 'connectOrCreate':
          out[op] = mapOneOrMany(value, (v) => ({
            ...v,
            where: unique(v.where as Args),
            create: create(v.create as Args),
          }));
          break;
        case 'updateMany':
          out[op] = mapOneOrMany(value, (v) => ({
            ...v,
            where: filter(v.where as Args),
            data: update(v.data as Args),
          }));
          break;
        case 'update':
          if (relation.isList) {
            out[op] = mapOneOrMany(value, (v) => ({
              ...v,
              where: unique(v.where as Args),
              data: update(v.data as Args),
            }));
          } else if (
            isObject(value) &&
            'data' in value &&
            Object.keys(value).every((k) => k === 'data' || k === 'where')
          ) {
            out[op] = {
              ...value,
              where: filter((value.where ?? {}) as Args),
              data: update(value.data as Args),
            };
          } else {
            if (scoped && !this.sameTenantByConstruction(from, relation)) {
              out[op] = { where: filter({}), data: update(value as Args) };
            } else {
              out[op] = update(value as Args);
            }
          }
          break;
        case 'upsert':
          if (relation.isList) {
            out[op] = mapOneOrMany(value, (v) => ({
              ...v,
              where: unique(v.where as Args),
              create: create(v.create as Args),
              update: update(v.update as Args),
            }));
          } else {
            const v = value as Args;
            out[op] = {
              ...v,
              ...(v.where !== undefined ||
              (scoped && !this.sameTenantByConstruction(from, relation))
                ? { where: filter((v.where ?? {}) as Args) }
                : {}),
              create: create(v.create as Args),
              update: update(v.update as Args),
            };
          }
          break;
        default:
          out[op] = value;
      }
    }
    return out;
  }
}
