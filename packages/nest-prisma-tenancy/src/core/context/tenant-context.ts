import { ClsServiceManager, type ClsStore } from 'nestjs-cls';
import { InvalidTenantIdError } from '../errors/invalid-tenant-id.error';
import { InvalidUserIdError } from '../errors/invalid-user-id.error';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';
import { MissingUserContextError } from '../errors/missing-user-context.error';

/** What the request (or job) context holds for the tenancy layer. */
export interface TenantStore extends ClsStore {
  /** The current workspace id (a UUID), set from a verified token or by runInTenant(). */
  tenantId?: string;
  /** The authenticated user id (the token's `sub`), when there is one. */
  userId?: string;
  /** The membership check the request still owes (see PendingMembershipCheck). */
  membershipCheck?: PendingMembershipCheck;
}

/**
 * A membership check that `@TenantScoped()` left to the request's first query: the tenant pool
 * pipelines `sql` (which fails unless the user is a member of the tenant) between the tenant
 * setting and that query, in the same round trip and transaction, so nothing runs for a
 * non-member and a member pays no extra round trip. Applies only to work that runs as exactly
 * `tenantId` and `userId`; `verified` is set once a query carried it successfully.
 */
export interface PendingMembershipCheck {
  readonly tenantId: string;
  readonly userId: string;
  /** One statement, no parameters, that raises division_by_zero unless the user is a member. */
  readonly sql: string;
  verified: boolean;
  /** Called once when a query proved the membership. */
  readonly onVerified?: () => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID string (any version), the only shape a tenant id may have. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * The tenant context store: an AsyncLocalStorage (nestjs-cls) holding `{ tenantId, userId }`.
 * nestjs-cls keeps one storage per process, so this works with or without `ClsModule` mounted:
 * HTTP requests get their context from the ClsModule middleware, jobs from `runInTenant()`.
 */
export const tenantContext = {
  /** The current tenant id, or `undefined` outside any tenant context. */
  getTenantId(): string | undefined {
    const cls = ClsServiceManager.getClsService<TenantStore>();
    return cls.isActive() ? cls.get('tenantId') : undefined;
  },

  /**
   * The current tenant id.
   *
   * @throws MissingTenantContextError naming `target` when there is none.
   */
  requireTenantId(target: string): string {
    const tenantId = tenantContext.getTenantId();
    if (tenantId === undefined) throw new MissingTenantContextError(target);
    return tenantId;
  },

  /**
   * The membership check the current context still owes, when it applies to the current tenant
   * and user (see PendingMembershipCheck).
   */
  getPendingMembershipCheck(): PendingMembershipCheck | undefined {
    const cls = ClsServiceManager.getClsService<TenantStore>();
    if (!cls.isActive()) return undefined;
    const check = cls.get('membershipCheck');
    if (!check || check.verified) return undefined;
    return check.tenantId === cls.get('tenantId') && check.userId === cls.get('userId')
      ? check
      : undefined;
  },

  /** The authenticated user id of the current context, if any. */
  getUserId(): string | undefined {
    const cls = ClsServiceManager.getClsService<TenantStore>();
    return cls.isActive() ? cls.get('userId') : undefined;
  },

  /**
   * The authenticated user id of the current context.
   *
   * @throws MissingUserContextError naming `target` when there is none.
   */
  requireUserId(target: string): string {
    const userId = tenantContext.getUserId();
    if (userId === undefined) throw new MissingUserContextError(target);
    return userId;
  },
};

/** Options of `runInTenant`. */
export interface RunInTenantOptions {
  /**
   * The user the work acts for (a UUID), for jobs that act on behalf of one user: identity rows
   * (`User` writes, `Account`, `Session`) are scoped to them, in the tenant client and in
   * PostgreSQL. Default: the caller's current user, if any (none outside a request).
   */
  userId?: string;
}

/**
 * Runs `fn` with `tenantId` as the current workspace, for jobs, scripts and queue handlers (HTTP
 * handlers get theirs from `@TenantScoped()`). The context is a copy: the caller's context, if any,
 * is unchanged afterwards, and nested calls are allowed. The caller's user stays the current user
 * unless `options.userId` names another.
 *
 * `fn`'s result is awaited inside the context, so `runInTenant(id, () => prisma.item.findMany())`
 * works even though Prisma queries only run when awaited.
 *
 * @example
 * await runInTenant(job.workspaceId, async () => {
 *   const pending = await prisma.approvalItem.findMany({ where: { status: 'PENDING' } });
 *   ...
 * });
 * await runInTenant(job.workspaceId, () => prisma.user.update(...), { userId: job.userId });
 * @throws InvalidTenantIdError when `tenantId` is not a UUID.
 * @throws InvalidUserIdError when `options.userId` is given and is not a UUID.
 */
export function runInTenant<T>(
  tenantId: string,
  fn: () => T | Promise<T>,
  options: RunInTenantOptions = {},
): Promise<T> {
  if (!isUuid(tenantId)) return Promise.reject(new InvalidTenantIdError(tenantId));
  const { userId } = options;
  if (userId !== undefined && !isUuid(userId)) {
    return Promise.reject(new InvalidUserIdError(userId));
  }
  const cls = ClsServiceManager.getClsService<TenantStore>();
  const outer = cls.isActive() ? cls.get() : undefined;
  const store: TenantStore = { ...(outer ?? {}), tenantId: tenantId.toLowerCase() };
  if (userId !== undefined) store.userId = userId.toLowerCase();
  return cls.runWith(store, async () => await fn());
}

/**
 * Runs `fn` with no tenant (and no user) in context: what a tenant-owned query sees there is a
 * `MissingTenantContextError`, and PostgreSQL, no rows. Used to isolate work (the batching guard
 * dispatches every Prisma batch in its own tenant's context this way).
 */
export function runWithoutTenant<T>(fn: () => T): T {
  return ClsServiceManager.getClsService<TenantStore>().runWith({}, fn);
}

/**
 * Runs `fn` in a context whose tenant is exactly `tenantId` and whose user is exactly `userId`
 * (either may be none). Internal helper: the batch guard dispatches each Prisma batch this way.
 */
export function runWithTenantOrNone<T>(
  tenantId: string | undefined,
  fn: () => T,
  userId?: string,
  membershipCheck?: PendingMembershipCheck,
): T {
  const store: TenantStore = {};
  if (tenantId !== undefined) store.tenantId = tenantId;
  if (userId !== undefined) store.userId = userId;
  if (membershipCheck !== undefined) store.membershipCheck = membershipCheck;
  return ClsServiceManager.getClsService<TenantStore>().runWith(store, fn);
}
