import { skip } from '@prisma/client/runtime/client';
import { CrossTenantWriteError } from '../errors/cross-tenant-write.error';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';
import { MissingUserContextError } from '../errors/missing-user-context.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import type { ModelInfo, RelationInfo, TenantModelMap } from './tenant-models';

type Args = Record<string, unknown>;
type Where = Record<string, unknown>;
/** Reading rows (and pointing relations at them) or writing them: the user model differs. */
type Access = 'read' | 'write';

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
/** Operations that return rows (and so may return secret fields). */
const RETURNS_ROWS = new Set([
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  ...READ_UNIQUE,
  'create',
  'createManyAndReturn',
  'update',
  'updateManyAndReturn',
  'upsert',
  'delete',
]);
const AGGREGATES = ['_count', '_min', '_max', '_avg', '_sum'] as const;

const IDENTITY_ADVICE =
  'The tenant client reads only the current user and the current tenant’s members, and writes ' +
  'only the current user’s own identity rows; use SystemPrisma.forReason(...) for anything else ' +
  '(every call is logged).';
const SECRET_ADVICE =
  'Secret fields are left out of every result of the tenant client and cannot be selected, ' +
  'filtered, ordered or grouped on; use SystemPrisma.forReason(...) where one is really needed.';
const KEY_ADVICE =
  'Ids never change (other rows reference them, and PostgreSQL refuses the change too): create ' +
  'a new row instead.';

/** Where the scoper reads the current tenant and user (the request or job context). */
export interface ScopeContext {
  /** The current tenant id, or `undefined`. */
  tenantId(): string | undefined;
  /** The current user id, or `undefined`. */
  userId(): string | undefined;
}

/** The context of one query: its tenant and user, with errors that name the query. */
class QueryContext {
  constructor(
    private readonly source: ScopeContext,
    readonly target: string,
  ) {}

  tenant(): string {
    const tenantId = this.source.tenantId();
    if (tenantId === undefined) throw new MissingTenantContextError(this.target);
    return tenantId;
  }

  tenantOrNone(): string | undefined {
    return this.source.tenantId();
  }

  user(): string {
    const userId = this.source.userId();
    if (userId === undefined) throw new MissingUserContextError(this.target);
    return userId;
  }

  userOrNone(): string | undefined {
    return this.source.userId();
  }
}

/** A plain argument object (not an array, not `Prisma.skip`, which means "leave this out"). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && value !== skip;
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

/** True for a selection value that asks for the field (not `false`, `undefined` or skip). */
function selected(value: unknown): boolean {
  return value !== false && value !== undefined && value !== skip;
}

/**
 * Rewrites Prisma Client arguments so that every row they read or write belongs to the current
 * tenant and user: layer 1 of the isolation.
 *
 * Tenant-scoped models (tenant-owned models and the tenant root):
 * - Filters (`where` of reads, `updateMany`, `deleteMany`) are AND-ed with the tenant.
 * - Unique lookups (`findUnique`, `update`, `delete`, `upsert`, `connect`, `cursor`, ...) get the
 *   tenant as an extra condition, so another tenant's id reads as "not found".
 * - Creates get the tenant filled in; a different explicit tenant is refused, as is moving a row.
 * - Relation filters (`some`/`every`/`none`/`is`/`isNot`), `include`/`select`/`_count` of
 *   relations, and nested writes are scoped at every depth, from global models too.
 * - What cannot be scoped (a to-one relation into a tenant model that does not carry the tenant in
 *   its foreign key) is refused with `UnscopableQueryError`, never run unscoped.
 *
 * Identity models (option `identity`; PostgreSQL's policies on the identity tables say the same):
 * - The user model: reads (also through relation filters, list includes and `_count`) see the
 *   current user and the members of the current tenant; writes reach only the current user's row
 *   (creates only with `id` = the current user); deletes are refused.
 * - User-owned models (`Account`, `Session`): only the current user's rows, at every depth; their
 *   user is filled in on create and never changes.
 * - System-only models (`VerificationToken`): refused, at every depth.
 * - Secret fields: omitted from every result; selecting, filtering, ordering or grouping on one is
 *   refused. Writing one is allowed.
 *
 * On every model, a primary key never changes: an update that sets one is refused.
 *
 * The tenant (or user) is only asked for when the query reaches a model that needs it, so queries
 * on global models alone run without either.
 */
export class TenantScoper {
  /** The membership model's relation to the user model (e.g. `WorkspaceMember.user`). */
  private readonly membershipUserRelation: string | undefined;

  constructor(private readonly map: TenantModelMap) {
    const identity = map.identity;
    const membership = identity?.membershipModel
      ? map.models.get(identity.membershipModel)
      : undefined;
    this.membershipUserRelation = membership
      ? [...membership.relations.entries()].find(
          ([, r]) =>
            r.target === identity?.userModel &&
            r.ownForeignKeys.length === 1 &&
            r.ownForeignKeys[0] === identity.userField,
        )?.[0]
      : undefined;
  }

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

  /** The user field of user-owned and membership models (`userId`). */
  private get userField(): string {
    return this.map.identity?.userField ?? 'userId';
  }

  /** The user model's id field (`id`). */
  private get userIdField(): string {
    return this.map.identity?.userIdField ?? 'id';
  }

  /**
   * Scopes `args` of `operation` on `model` to the current tenant and user.
   *
   * @throws MissingTenantContextError / MissingUserContextError when the query needs a tenant or
   *   user that the context does not have; UnscopableQueryError / CrossTenantWriteError for what
   *   the tenant client refuses. Nothing is sent then.
   */
  scope(model: string, operation: string, args: Args | undefined, context: ScopeContext): Args {
    const info = this.info(model);
    const ctx = new QueryContext(context, `${model}.${operation}`);
    const input: Args = { ...(args ?? {}) };
    this.admit(info, operation, ctx);

    if (READ_MANY.has(operation)) {
      input.where = this.filter(info, input.where, ctx, 'read');
    } else if (WRITE_MANY.has(operation)) {
      input.where = this.filter(info, input.where, ctx, 'write');
    } else if (READ_UNIQUE.has(operation)) {
      input.where = this.unique(info, input.where, ctx, 'read');
    } else if (operation === 'delete') {
      input.where = this.unique(info, input.where, ctx, 'write');
    } else if (operation === 'update') {
      input.where = this.unique(info, input.where, ctx, 'write');
      input.data = this.data(info, input.data, 'update', ctx);
    } else if (operation === 'upsert') {
      input.where = this.unique(info, input.where, ctx, 'write');
      input.create = this.create(info, input.create, ctx, undefined);
      input.update = this.data(info, input.update, 'update', ctx);
    } else if (operation === 'create') {
      input.data = this.create(info, input.data, ctx, undefined);
    } else if (CREATE_MANY.has(operation)) {
      input.data = mapOneOrMany(input.data, (item) =>
        this.create(info, item, ctx, undefined, true),
      );
    }
    if (operation === 'updateMany' || operation === 'updateManyAndReturn') {
      input.data = this.data(info, input.data, 'update', ctx);
    }
    if (isObject(input.cursor)) input.cursor = this.cursor(info, input.cursor, ctx);
    if (input.orderBy !== undefined) this.orderBy(info, input.orderBy, ctx);
    this.aggregates(info, operation, input);
    this.selection(info, input, ctx);
    if (RETURNS_ROWS.has(operation)) this.hideSecrets(info, input);
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
   * @returns `undefined` when the query does not qualify (a relation filter, AND/OR/NOT, a secret
   *   field, or a `select` of relations, which is also how the fluent API arrives); then use
   *   `scope()`. Otherwise the arguments to run and the tenant the row must have.
   */
  verifiedUniqueRead(
    model: string,
    operation: string,
    args: Args | undefined,
    context: ScopeContext,
  ): { args: Args; tenantField: string; tenantId: string; stripTenantField: boolean } | undefined {
    const info = this.info(model);
    const field = info.tenantField;
    if (
      (info.kind !== 'tenant' && info.kind !== 'root') ||
      field === undefined ||
      !READ_UNIQUE.has(operation) ||
      !args ||
      !isObject(args.where)
    ) {
      return undefined;
    }
    if (
      !Object.keys(args.where).every(
        (key) => info.scalarFields.has(key) && !info.secretFields.has(key),
      ) ||
      // A lookup by id on a tenant-keyed model needs the tenant in its key: scope() supplies it.
      this.tenantKey(info) !== undefined
    ) {
      return undefined;
    }
    const select = args.select;
    if (select !== undefined) {
      if (!isObject(select) || Object.keys(select).some((key) => info.relations.has(key))) {
        return undefined;
      }
    }
    const ctx = new QueryContext(context, `${model}.${operation}`);
    const tenantId = ctx.tenant();
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
    this.selection(info, input, ctx);
    this.hideSecrets(info, input);
    return { args: input, tenantField: field, tenantId, stripTenantField };
  }

  // ---------------------------------------------------------------------------------------------
  // What a model's rows are restricted to.
  // ---------------------------------------------------------------------------------------------

  /**
   * Refuses what a model never allows and asks for the context the operation needs, before
   * anything else is looked at.
   */
  private admit(info: ModelInfo, operation: string, ctx: QueryContext): void {
    switch (info.kind) {
      case 'systemOnly':
        throw this.systemOnly(info.name, operation);
      case 'tenant':
      case 'root':
        // Every operation on a tenant-scoped model needs a tenant, even one that would touch no row.
        ctx.tenant();
        break;
      case 'userOwned':
        ctx.user();
        break;
      case 'user':
        if (operation === 'delete' || operation === 'deleteMany') {
          throw new UnscopableQueryError(
            info.name,
            operation,
            `the tenant client never deletes a ${info.name} (it would reach into every tenant ` +
              `the user belongs to)`,
            IDENTITY_ADVICE,
          );
        }
        if (READ_MANY.has(operation) || READ_UNIQUE.has(operation)) this.visibleUsers(ctx);
        else if (SCOPED_OPERATIONS.has(operation)) ctx.user();
        break;
      default:
        return;
    }
    if (!SCOPED_OPERATIONS.has(operation)) {
      throw new UnscopableQueryError(
        info.name,
        operation,
        `the operation "${operation}" is not supported`,
      );
    }
  }

  /**
   * The condition every row of `info` that the query reaches must meet, or `undefined` for a
   * global model. For the user model it depends on the access: reading sees the visible users,
   * writing only the current user.
   */
  private restriction(info: ModelInfo, ctx: QueryContext, access: Access): Where | undefined {
    switch (info.kind) {
      case 'tenant':
      case 'root':
        return { [info.tenantField as string]: ctx.tenant() };
      case 'userOwned':
        return { [this.userField]: ctx.user() };
      case 'user':
        return access === 'write' ? { [this.userIdField]: ctx.user() } : this.visibleUsers(ctx);
      case 'systemOnly':
        throw this.systemOnly(info.name, 'where');
      default:
        return undefined;
    }
  }

  /**
   * The users the context may read: the current user, and the members of the current tenant (one
   * branch when only one of them is in context).
   *
   * @throws MissingTenantContextError when there is neither a tenant nor a user.
   */
  private visibleUsers(ctx: QueryContext): Where {
    const userId = ctx.userOrNone();
    const tenantId = ctx.tenantOrNone();
    const relation = this.map.identity?.membershipRelation;
    const self = userId === undefined ? undefined : { [this.userIdField]: userId };
    const members =
      tenantId === undefined || relation === undefined
        ? undefined
        : { [relation]: { some: { [this.map.tenantField]: tenantId } } };
    if (self && members) return { OR: [self, members] };
    if (self) return self;
    if (members) return members;
    // A tenant but no membership model: no user is visible except the (absent) current one.
    if (tenantId !== undefined) return { [this.userIdField]: { in: [] } };
    throw new MissingTenantContextError(ctx.target);
  }

  /** A non-unique filter: relation filters scoped, AND the model's restriction. */
  private filter(info: ModelInfo, where: unknown, ctx: QueryContext, access: Access): Where {
    const scoped = isObject(where) ? this.where(info, where, ctx) : undefined;
    const own = this.restriction(info, ctx, access);
    if (!own) return scoped ?? {};
    return scoped && Object.keys(scoped).length > 0 ? { AND: [scoped, own] } : own;
  }

  /**
   * The tenant-keyed primary key of a tenant-owned model (`@@id([workspaceId, id])`, as a
   * distributed PostgreSQL needs): its Prisma name (`workspaceId_id`) and the field besides the
   * tenant (`id`). `undefined` for any other key.
   */
  private tenantKey(info: ModelInfo): { name: string; field: string } | undefined {
    const tenant = info.tenantField;
    if (info.kind !== 'tenant' || tenant === undefined || info.idFields.length !== 2)
      return undefined;
    if (!info.idFields.includes(tenant)) return undefined;
    return {
      name: info.idFields.join('_'),
      field: info.idFields.find((f) => f !== tenant) as string,
    };
  }

  /**
   * `{ id }` on a model keyed by `(tenant, id)` becomes `{ workspaceId_id: { workspaceId, id } }`:
   * the user keeps writing the lookup by id, and the key names the tenant (one shard on Citus).
   */
  private withTenantKey(
    info: ModelInfo,
    key: { name: string; field: string } | undefined,
    where: Args,
    ctx: QueryContext,
  ): Args {
    if (!key || where[key.name] !== undefined) return where;
    const value = where[key.field];
    if (value === undefined || isObject(value) || Array.isArray(value)) return where;
    const rest: Args = { ...where };
    delete rest[key.field];
    return {
      ...rest,
      [key.name]: { [info.tenantField as string]: ctx.tenant(), [key.field]: value },
    };
  }

  /** A unique filter (WhereUniqueInput): the restriction goes in as an extra AND condition. */
  private unique(info: ModelInfo, where: unknown, ctx: QueryContext, access: Access): unknown {
    if (!isObject(where)) return where;
    const key = this.tenantKey(info);
    const scoped = this.withTenantKey(info, key, this.where(info, where, ctx), ctx);
    const own = this.restriction(info, ctx, access);
    if (!own) return scoped;
    // A key that already names the current tenant is the restriction; without the extra AND the
    // lookup stays a plain unique one, which Prisma batches with its neighbours into one statement.
    const keyed = key ? scoped[key.name] : undefined;
    if (isObject(keyed) && keyed[info.tenantField as string] === ctx.tenant()) return scoped;
    return { ...scoped, AND: [...asArray(scoped.AND), own] };
  }

  /** A cursor takes plain unique fields only (no AND): the restriction goes in as one of them. */
  private cursor(info: ModelInfo, cursor: Args, ctx: QueryContext): Args {
    for (const key of Object.keys(cursor)) this.notSecret(info, key, `cursor.${key}`);
    switch (info.kind) {
      case 'tenant':
      case 'root': {
        const keyed = this.withTenantKey(info, this.tenantKey(info), cursor, ctx);
        return keyed === cursor ? { ...cursor, [info.tenantField as string]: ctx.tenant() } : keyed;
      }
      case 'userOwned':
        return { ...cursor, [this.userField]: ctx.user() };
      case 'user':
        // The visibility filter is an OR over a relation, which a cursor cannot carry, and a cursor
        // on a row the filter hides would still position the page (an existence oracle).
        throw new UnscopableQueryError(
          info.name,
          'cursor',
          `a cursor on ${info.name} cannot be restricted to the visible users`,
          `Paginate with a where instead, e.g. where: { id: { gt: lastId } }, orderBy: { id: 'asc' }.`,
        );
      default:
        return cursor;
    }
  }

  /**
   * True when rows reached through `relation` from a row of `from` need no filter of their own:
   * they are in the same tenant (or belong to the same user) by construction, or are global. A
   * to-one relation into the user model from a tenant-scoped or user-owned row counts as such: a
   * to-one include cannot take a where in Prisma, and the row it hangs off is the current
   * tenant's (or user's). PostgreSQL shows null for a user who is no longer visible.
   */
  private followsUnfiltered(from: ModelInfo, relation: RelationInfo, target: ModelInfo): boolean {
    switch (target.kind) {
      case 'global':
        return true;
      case 'tenant':
      case 'root':
        return this.sameTenantByConstruction(from, relation);
      case 'user':
        return (
          !relation.isList &&
          (from.kind === 'tenant' || from.kind === 'root' || from.kind === 'userOwned')
        );
      case 'userOwned':
        return from.kind === 'userOwned' && this.carries(relation, this.userField);
      default:
        return false;
    }
  }

  /** Refuses following a relation into a system-only model. */
  private reach(from: ModelInfo, field: string, target: ModelInfo): void {
    if (target.kind === 'systemOnly') throw this.systemOnly(from.name, field, target.name);
  }

  private systemOnly(model: string, path: string, target = model): UnscopableQueryError {
    return new UnscopableQueryError(
      model,
      path,
      `${target} is system-only: the tenant client never reads or writes it`,
      `Use SystemPrisma.forReason('why').${target.charAt(0).toLowerCase()}${target.slice(1)} ` +
        `(every call is logged).`,
    );
  }

  /** Refuses naming a secret field of `info` at `path`. */
  private notSecret(info: ModelInfo, field: string, path: string): void {
    if (info.secretFields.has(field)) {
      throw new UnscopableQueryError(
        info.name,
        path,
        `${field} is a secret field of ${info.name}`,
        SECRET_ADVICE,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Filters, ordering, aggregates.
  // ---------------------------------------------------------------------------------------------

  /**
   * Ordering by a relation (its fields or its `_count`) cannot be filtered; it is only allowed
   * where the related rows need no filter (see followsUnfiltered). Secret fields are refused.
   */
  private orderBy(info: ModelInfo, orderBy: unknown, ctx: QueryContext): void {
    for (const entry of asArray(orderBy)) {
      if (!isObject(entry)) continue;
      for (const [key, value] of Object.entries(entry)) {
        this.notSecret(info, key, `orderBy.${key}`);
        if ((AGGREGATES as readonly string[]).includes(key) && isObject(value)) {
          // groupBy ordering by an aggregate of a field: { _max: { field: 'asc' } }.
          for (const f of Object.keys(value)) this.notSecret(info, f, `orderBy.${key}`);
          continue;
        }
        if (key === '_relevance' && isObject(value)) {
          for (const f of asArray(value.fields)) {
            if (typeof f === 'string') this.notSecret(info, f, 'orderBy._relevance');
          }
          continue;
        }
        const relation = info.relations.get(key);
        if (!relation || !isObject(value)) continue;
        const target = this.info(relation.target);
        this.reach(info, `orderBy.${key}`, target);
        if (!this.followsUnfiltered(info, relation, target)) {
          const tenantScoped = target.kind === 'tenant' || target.kind === 'root';
          throw new UnscopableQueryError(
            info.name,
            `orderBy.${key}`,
            tenantScoped
              ? `ordering by the tenant-scoped relation ${relation.target} from here would rank by ` +
                `other tenants' rows too`
              : `ordering by the relation ${relation.target} from here would rank by rows the ` +
                `tenant client does not show`,
            ...(tenantScoped ? [] : [IDENTITY_ADVICE]),
          );
        }
        if (!relation.isList) this.orderBy(target, value, ctx);
      }
    }
  }

  /** Refuses secret fields in `distinct`, `by`, `having`, aggregates and a `count`'s select. */
  private aggregates(info: ModelInfo, operation: string, args: Args): void {
    if (info.secretFields.size === 0) return;
    for (const key of ['distinct', 'by'] as const) {
      for (const f of asArray(args[key])) {
        if (typeof f === 'string') this.notSecret(info, f, key);
      }
    }
    for (const key of AGGREGATES) {
      const value = args[key];
      if (!isObject(value)) continue;
      for (const [f, v] of Object.entries(value)) if (selected(v)) this.notSecret(info, f, key);
    }
    if (operation === 'count' && isObject(args.select)) {
      for (const [f, v] of Object.entries(args.select)) {
        if (selected(v)) this.notSecret(info, f, 'select');
      }
    }
    const having = (value: unknown): void => {
      for (const item of asArray(value)) {
        if (!isObject(item)) continue;
        for (const [f, v] of Object.entries(item)) {
          if (f === 'AND' || f === 'OR' || f === 'NOT') having(v);
          else this.notSecret(info, f, 'having');
        }
      }
    };
    having(args.having);
  }

  /** Scopes the relation filters inside a where object (not the model's own restriction). */
  private where(info: ModelInfo, where: Where, ctx: QueryContext): Where {
    const out: Where = {};
    for (const [key, value] of Object.entries(where)) {
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        out[key] = Array.isArray(value)
          ? value.map((v: unknown) => (isObject(v) ? this.where(info, v, ctx) : v))
          : isObject(value)
            ? this.where(info, value, ctx)
            : value;
        continue;
      }
      this.notSecret(info, key, `where.${key}`);
      const relation = info.relations.get(key);
      out[key] =
        relation && isObject(value) ? this.relationFilter(info, key, relation, value, ctx) : value;
    }
    return out;
  }

  private relationFilter(
    from: ModelInfo,
    field: string,
    relation: RelationInfo,
    value: Where,
    ctx: QueryContext,
  ): Where {
    const target = this.info(relation.target);
    this.reach(from, `where.${field}`, target);
    const inner = (w: unknown) => this.filter(target, w, ctx, 'read');
    if (relation.isList) {
      const out: Where = { ...value };
      if ('some' in value && value.some !== skip) out.some = inner(value.some);
      if ('none' in value && value.none !== skip) out.none = inner(value.none);
      if ('every' in value && value.every !== skip) {
        const condition = isObject(value.every) ? this.where(target, value.every, ctx) : {};
        const own = this.restriction(target, ctx, 'read');
        // "every related row this context sees matches": rows it does not see do not count.
        out.every = own ? { OR: [{ NOT: own }, condition] } : condition;
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
    return this.carries(relation, this.map.tenantField);
  }

  /** True when the relation's foreign key includes `field` (e.g. a composite tenant key). */
  private carries(relation: RelationInfo, field: string): boolean {
    return [...relation.ownForeignKeys, ...relation.targetForeignKeys].includes(field);
  }

  // ---------------------------------------------------------------------------------------------
  // include, select, _count and secret fields.
  // ---------------------------------------------------------------------------------------------

  /** Scopes `select`, `include` and `_count` of `args` (in place) for a query on `info`. */
  private selection(info: ModelInfo, args: Args, ctx: QueryContext): void {
    for (const key of ['select', 'include'] as const) {
      const selection = args[key];
      if (!isObject(selection)) continue;
      const out: Args = {};
      for (const [field, value] of Object.entries(selection)) {
        if (field === '_count') out[field] = this.count(info, value, ctx);
        else {
          const relation = info.relations.get(field);
          out[field] = relation ? this.relationSelection(info, field, relation, value, ctx) : value;
        }
      }
      args[key] = out;
    }
  }

  /**
   * Leaves the secret fields of `info` out of the rows `args` return: `omit` for them, or, when
   * `args` has a `select`, a check that it names none of them (Prisma takes `select` or `omit`).
   */
  private hideSecrets(info: ModelInfo, args: Args): void {
    if (info.secretFields.size === 0) return;
    if (isObject(args.select)) {
      for (const [field, value] of Object.entries(args.select)) {
        if (selected(value)) this.notSecret(info, field, `select.${field}`);
      }
      return;
    }
    const omit: Args = isObject(args.omit) ? { ...args.omit } : {};
    for (const field of info.secretFields) {
      if (omit[field] === false) this.notSecret(info, field, `omit.${field}`);
      omit[field] = true;
    }
    args.omit = omit;
  }

  private relationSelection(
    from: ModelInfo,
    field: string,
    relation: RelationInfo,
    value: unknown,
    ctx: QueryContext,
  ): unknown {
    if (!selected(value)) return value;
    const target = this.info(relation.target);
    this.reach(from, field, target);
    const nested: Args = isObject(value) ? { ...value } : {};
    if (relation.isList) {
      if (target.kind !== 'global' || nested.where !== undefined) {
        nested.where = this.filter(target, nested.where, ctx, 'read');
      }
      if (isObject(nested.cursor)) nested.cursor = this.cursor(target, nested.cursor, ctx);
      if (nested.orderBy !== undefined) this.orderBy(target, nested.orderBy, ctx);
      this.aggregates(target, 'findMany', nested);
    } else if (!this.followsUnfiltered(from, relation, target)) {
      if (target.kind === 'tenant' || target.kind === 'root') {
        throw new UnscopableQueryError(
          from.name,
          field,
          `a to-one relation into the tenant-scoped model ${target.name} cannot be filtered by ` +
            `tenant, because its foreign key does not include ${this.map.tenantField}`,
        );
      }
      throw new UnscopableQueryError(
        from.name,
        field,
        `a to-one relation into ${target.name} cannot be filtered to the rows the tenant client ` +
          `shows from a ${from.name} row`,
        IDENTITY_ADVICE,
      );
    }
    this.selection(target, nested, ctx);
    this.hideSecrets(target, nested);
    return Object.keys(nested).length === 0 && value === true ? true : nested;
  }

  private count(info: ModelInfo, value: unknown, ctx: QueryContext): unknown {
    if (value === skip) return value;
    const lists = [...info.relations.entries()].filter(([, r]) => r.isList);
    if (value === true) {
      for (const [name, r] of lists) this.reach(info, `_count.${name}`, this.info(r.target));
      if (lists.every(([, r]) => this.info(r.target).kind === 'global')) return true;
      return {
        select: Object.fromEntries(
          lists.map(([name, r]) => {
            const target = this.info(r.target);
            return [
              name,
              target.kind === 'global'
                ? true
                : { where: this.filter(target, undefined, ctx, 'read') },
            ];
          }),
        ),
      };
    }
    if (!isObject(value) || !isObject(value.select)) return value;
    const select: Args = {};
    for (const [name, v] of Object.entries(value.select)) {
      const relation = info.relations.get(name);
      if (!relation || !selected(v)) {
        select[name] = v;
        continue;
      }
      const target = this.info(relation.target);
      this.reach(info, `_count.${name}`, target);
      const where = isObject(v) ? v.where : undefined;
      select[name] =
        target.kind !== 'global' || where !== undefined
          ? { ...(isObject(v) ? v : {}), where: this.filter(target, where, ctx, 'read') }
          : v;
    }
    return { ...value, select };
  }

  // ---------------------------------------------------------------------------------------------
  // Writes.
  // ---------------------------------------------------------------------------------------------

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

  /** The relation of a user-owned model to the user model through its user field, if any. */
  private ownerRelation(info: ModelInfo): string | undefined {
    return info.kind === 'userOwned' ? this.map.identity?.userOwned.get(info.name) : undefined;
  }

  /**
   * Create data for `info`. `via` is the relation a nested create comes through (the parent
   * fills in the tenant, or the user, when that relation's foreign key includes it).
   */
  private create(
    info: ModelInfo,
    data: unknown,
    ctx: QueryContext,
    via: RelationInfo | undefined,
    scalarsOnly = false,
  ): Args {
    if (!isObject(data)) return data as Args;
    const out = this.data(info, data, 'create', ctx);
    if (info.kind === 'user') {
      const idField = this.userIdField;
      const userId = ctx.user();
      if (!sameId(out[idField], userId)) {
        throw new UnscopableQueryError(
          info.name,
          `create.${idField}`,
          `a ${info.name} can only be created by the tenant client for the current user, with ` +
            `${idField}: <current user id>`,
          IDENTITY_ADVICE,
        );
      }
      return out;
    }
    if (info.kind === 'userOwned') {
      const field = this.userField;
      const userId = ctx.user();
      // A nested create under the user model: the parent is the current user's row (every write
      // of the user model is restricted to it), and Prisma fills in the foreign key from it.
      if (via && via.targetForeignKeys.includes(field)) return out;
      if (field in out) return out; // checked equal to the user by data()
      const owner = this.ownerRelation(info);
      if (owner && owner in out) return out; // checked by data()
      const checked =
        !scalarsOnly &&
        Object.keys(out).some((key) => info.relations.has(key) && isObject(out[key]));
      if (checked && owner) return { ...out, [owner]: { connect: { [this.userIdField]: userId } } };
      return { ...out, [field]: userId };
    }
    const field = info.tenantField;
    if (field === undefined) return out;
    const t = ctx.tenant();
    if (info.isRoot) {
      if (out.id !== undefined && !sameId(out.id, t)) {
        throw new CrossTenantWriteError(
          info.name,
          `a ${info.name} can only be created with the current tenant id`,
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

  /**
   * Create or update data: the tenant column and root relation checked, the user of user-owned
   * rows checked, primary keys never changed, nested writes scoped.
   */
  private data(info: ModelInfo, data: unknown, mode: 'create' | 'update', ctx: QueryContext): Args {
    if (!isObject(data)) return data as Args;
    const out: Args = {};
    const rootRelation = this.rootRelation(info);
    const ownerRelation = this.ownerRelation(info);
    const membership = info.name === this.map.identity?.membershipModel;
    const refuseKeyChange = (key: string) => {
      throw new UnscopableQueryError(
        info.name,
        `data.${key}`,
        `${key} is part of the primary key of ${info.name}, which never changes`,
        KEY_ADVICE,
      );
    };
    for (const [key, value] of Object.entries(data)) {
      if (value === undefined) {
        out[key] = value;
        continue;
      }
      if (info.tenantField !== undefined && key === info.tenantField) {
        const given = isObject(value) && 'set' in value ? value.set : value;
        if (!sameId(given, ctx.tenant())) {
          throw new CrossTenantWriteError(
            info.name,
            mode === 'create'
              ? `${key} names another tenant`
              : `changing ${key} would move the row to another tenant`,
          );
        }
        if (mode === 'update' && info.idFields.includes(key)) refuseKeyChange(key);
        out[key] = value;
        continue;
      }
      if (mode === 'update' && info.idFields.includes(key)) refuseKeyChange(key);
      if (key === rootRelation) {
        const connect = isObject(value) ? value.connect : undefined;
        const ok =
          isObject(value) &&
          Object.keys(value).length === 1 &&
          isObject(connect) &&
          Object.keys(connect).length === 1 &&
          sameId(connect.id, ctx.tenant());
        if (!ok) {
          throw new CrossTenantWriteError(
            info.name,
            `${key} may only be { connect: { id: <current tenant> } }`,
          );
        }
        out[key] = value;
        continue;
      }
      if (info.kind === 'userOwned' && key === this.userField) {
        const given = isObject(value) && 'set' in value ? value.set : value;
        if (!sameId(given, ctx.user())) {
          throw new UnscopableQueryError(
            info.name,
            `data.${key}`,
            mode === 'create'
              ? `${key} names another user`
              : `changing ${key} would give the row to another user`,
            IDENTITY_ADVICE,
          );
        }
        out[key] = value;
        continue;
      }
      if (key === ownerRelation) {
        const connect = isObject(value) ? value.connect : undefined;
        const connectsSelf =
          isObject(value) &&
          Object.keys(value).length === 1 &&
          isObject(connect) &&
          Object.keys(connect).length === 1 &&
          sameId(connect[this.userIdField], ctx.user());
        const updatesSelf =
          mode === 'update' && isObject(value) && Object.keys(value).every((op) => op === 'update');
        if (!connectsSelf && !updatesSelf) {
          throw new UnscopableQueryError(
            info.name,
            `data.${key}`,
            `${key} may only be { connect: { ${this.userIdField}: <current user> } }` +
              (mode === 'update' ? ' or an update of the current user' : ''),
            IDENTITY_ADVICE,
          );
        }
        if (connectsSelf) {
          out[key] = value;
          continue;
        }
      }
      // A membership's user never changes (PostgreSQL refuses it too): its rights belong to
      // that user. Remove the membership and create another instead.
      if (
        membership &&
        mode === 'update' &&
        (key === this.userField ||
          (key === this.membershipUserRelation &&
            isObject(value) &&
            Object.keys(value).some((op) => op !== 'update')))
      ) {
        throw new UnscopableQueryError(
          info.name,
          `data.${key}`,
          `the user of a ${info.name} never changes`,
          'Delete the membership and create a new one for the other user.',
        );
      }
      const relation = info.relations.get(key);
      out[key] =
        relation && isObject(value) ? this.nestedWrite(info, key, relation, value, ctx) : value;
    }
    return out;
  }

  private nestedWrite(
    from: ModelInfo,
    field: string,
    relation: RelationInfo,
    ops: Args,
    ctx: QueryContext,
  ): Args {
    const target = this.info(relation.target);
    this.reach(from, field, target);
    const restricted = target.kind !== 'global';
    const isUser = target.kind === 'user';
    // Pointing a relation at rows (connect, set, disconnect) needs them visible; changing or
    // deleting them needs them writable (for the user model: only the current user's row).
    const uniqueRead = (w: Args) => this.unique(target, w, ctx, 'read') as Args;
    const uniqueWrite = (w: Args) => this.unique(target, w, ctx, 'write') as Args;
    const filterRead = (w: Args) => this.filter(target, w, ctx, 'read');
    const filterWrite = (w: Args) => this.filter(target, w, ctx, 'write');
    const create = (d: Args) => this.create(target, d, ctx, relation);
    const update = (d: Args) => this.data(target, d, 'update', ctx);
    const writeNeedsFilter =
      isUser || (restricted && !this.followsUnfiltered(from, relation, target));
    const out: Args = {};
    for (const [op, value] of Object.entries(ops)) {
      if ((op === 'disconnect' || op === 'set') && this.carries(relation, this.map.tenantField)) {
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
      if (isUser && (op === 'delete' || op === 'deleteMany' || op === 'upsert')) {
        throw new UnscopableQueryError(
          from.name,
          `${field}.${op}`,
          op === 'upsert'
            ? `a nested upsert of ${target.name} is not supported by the tenant client; use ` +
              `connect, or update (of the current user)`
            : `the tenant client never deletes a ${target.name}`,
          IDENTITY_ADVICE,
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
                data: mapOneOrMany(value.data, (d) => this.create(target, d, ctx, relation, true)),
              }
            : value;
          break;
        case 'connect':
        case 'set':
          out[op] = mapOneOrMany(value, uniqueRead);
          break;
        case 'disconnect':
        case 'delete': {
          if (
            value === true &&
            restricted &&
            !relation.isList &&
            !this.followsUnfiltered(from, relation, target)
          ) {
            throw new UnscopableQueryError(
              from.name,
              `${field}.${op}`,
              'use a where filter instead of true',
            );
          }
          const read = op === 'disconnect';
          out[op] = relation.isList
            ? mapOneOrMany(value, read ? uniqueRead : uniqueWrite)
            : mapOneOrMany(value, read ? filterRead : filterWrite);
          break;
        }
        case 'deleteMany':
          out[op] = mapOneOrMany(value, filterWrite);
          break;
        case 'connectOrCreate':
          out[op] = mapOneOrMany(value, (v) => ({
            ...v,
            where: uniqueRead(v.where as Args),
            create: create(v.create as Args),
          }));
          break;
        case 'updateMany':
          out[op] = mapOneOrMany(value, (v) => ({
            ...v,
            where: filterWrite(v.where as Args),
            data: update(v.data as Args),
          }));
          break;
        case 'update':
          if (relation.isList) {
            out[op] = mapOneOrMany(value, (v) => ({
              ...v,
              where: uniqueWrite(v.where as Args),
              data: update(v.data as Args),
            }));
          } else if (
            isObject(value) &&
            'data' in value &&
            Object.keys(value).every((k) => k === 'data' || k === 'where')
          ) {
            out[op] = {
              ...value,
              where: filterWrite((value.where ?? {}) as Args),
              data: update(value.data as Args),
            };
          } else if (writeNeedsFilter) {
            out[op] = { where: filterWrite({}), data: update(value as Args) };
          } else {
            out[op] = update(value as Args);
          }
          break;
        case 'upsert':
          if (relation.isList) {
            out[op] = mapOneOrMany(value, (v) => ({
              ...v,
              where: uniqueWrite(v.where as Args),
              create: create(v.create as Args),
              update: update(v.update as Args),
            }));
          } else {
            const v = value as Args;
            out[op] = {
              ...v,
              ...(v.where !== undefined || writeNeedsFilter
                ? { where: filterWrite((v.where ?? {}) as Args) }
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
