import { ClsServiceManager, type ClsStore } from 'nestjs-cls';
import { InvalidTenantIdError } from '../errors/invalid-tenant-id.error';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';

/** What the request (or job) context holds for the tenancy layer. */
export interface TenantStore extends ClsStore {
  /** The current workspace id (a UUID), set from a verified token or by runInTenant(). */
  tenantId?: string;
  /** The authenticated user id (the token's `sub`), when there is one. */
  userId?: string;
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

  /** The authenticated user id of the current context, if any. */
  getUserId(): string | undefined {
    const cls = ClsServiceManager.getClsService<TenantStore>();
    return cls.isActive() ? cls.get('userId') : undefined;
  },
};

/**
 * Runs `fn` with `tenantId` as the current workspace, for jobs, scripts and queue handlers (HTTP
 * handlers get theirs from `@TenantScoped()`). The context is a copy: the caller's context, if any,
 * is unchanged afterwards, and nested calls are allowed.
 *
 * `fn`'s result is awaited inside the context, so `runInTenant(id, () => prisma.item.findMany())`
 * works even though Prisma queries only run when awaited.
 *
 * @example
 * await runInTenant(job.workspaceId, async () => {
 *   const pending = await prisma.approvalItem.findMany({ where: { status: 'PENDING' } });
 *   ...
 * });
 * @throws InvalidTenantIdError when `tenantId` is not a UUID.
 */
export function runInTenant<T>(tenantId: string, fn: () => T | Promise<T>): Promise<T> {
  if (!isUuid(tenantId)) return Promise.reject(new InvalidTenantIdError(tenantId));
  const cls = ClsServiceManager.getClsService<TenantStore>();
  const outer = cls.isActive() ? cls.get() : undefined;
  const store: TenantStore = { ...(outer ?? {}), tenantId: tenantId.toLowerCase() };
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

/** Runs `fn` in a context whose tenant is exactly `tenantId` (or none). Internal helper. */
export function runWithTenantOrNone<T>(tenantId: string | undefined, fn: () => T): T {
  return ClsServiceManager.getClsService<TenantStore>().runWith(
    tenantId === undefined ? {} : { tenantId },
    fn,
  );
}
