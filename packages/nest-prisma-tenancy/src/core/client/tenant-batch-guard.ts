import { UnsupportedPrismaVersionError } from '../errors/unsupported-prisma-version.error';
import {
  runWithTenantOrNone,
  tenantContext,
  type PendingMembershipCheck,
} from '../context/tenant-context';

const TENANT = Symbol('batch-tenant');
const USER = Symbol('batch-user');
const MEMBERSHIP = Symbol('batch-membership');
const GUARDED = Symbol('tenant-batch-guard');

type Request = Record<PropertyKey, unknown>;

interface DataLoaderOptions {
  batchBy(request: Request): string | undefined;
  batchLoader(requests: Request[]): Promise<unknown>;
  singleLoader(request: Request): Promise<unknown>;
  [GUARDED]?: true;
}

/**
 * Keeps Prisma's request batching from mixing tenants.
 *
 * Prisma Client collects `findUnique` calls made outside a transaction, and every request of a
 * batch `$transaction([...])`, into batches that it dispatches from one `process.nextTick` scheduled
 * by the FIRST caller of the tick. Their SQL then runs in that caller's async context, and two
 * tenants' lookups of the same shape are even merged into one statement (the batch key holds only
 * argument names, never values). Under Row-Level Security keyed on the context, the second tenant
 * would get `null` for its own row.
 *
 * This guard (a) adds the caller's tenant and user to the batch key, so a batch only ever holds
 * the requests of one tenant and one user (batching within them is kept; identity rows are scoped
 * by the user, in the tenant client and in PostgreSQL), and (b) dispatches each batch in the
 * context of the tenant and user it was collected for.
 *
 * It wraps an internal of Prisma Client (`_requestHandler.dataloader.options`, the same code in 6.19
 * and 7.x, both tested in CI); when that is missing it throws instead of running unguarded.
 *
 * @param currentTenant The caller's tenant id, if any.
 * @param currentUser The caller's user id, if any. Default: none (batches keyed by tenant only).
 * @throws UnsupportedPrismaVersionError when the internals are not there.
 */
export function guardBatchesByTenant(
  client: object,
  currentTenant: () => string | undefined,
  currentUser: () => string | undefined = () => undefined,
): void {
  const options = (client as { _requestHandler?: { dataloader?: { options?: DataLoaderOptions } } })
    ._requestHandler?.dataloader?.options;
  if (
    typeof options?.batchBy !== 'function' ||
    typeof options.batchLoader !== 'function' ||
    typeof options.singleLoader !== 'function'
  ) {
    throw new UnsupportedPrismaVersionError('its request batching internals were not found');
  }
  if (options[GUARDED]) return;

  const batchBy = options.batchBy.bind(options);
  const batchLoader = options.batchLoader.bind(options);
  const singleLoader = options.singleLoader.bind(options);

  options.batchBy = (request) => {
    const key = batchBy(request);
    if (key === undefined) return undefined;
    const tenantId = currentTenant();
    const userId = currentUser();
    request[TENANT] = tenantId;
    request[USER] = userId;
    request[MEMBERSHIP] = tenantContext.getPendingMembershipCheck();
    return `${tenantId ?? '-'}|${userId ?? '-'}|${key}`;
  };
  // Every request of a batch has the same tenant and user, so any pending membership check of
  // theirs (see PendingMembershipCheck) may ride on the batch's query.
  const dispatch = <T>(requests: readonly (Request | undefined)[], fn: () => T): T =>
    runWithTenantOrNone(
      requests[0]?.[TENANT] as string | undefined,
      fn,
      requests[0]?.[USER] as string | undefined,
      requests.map((r) => r?.[MEMBERSHIP] as PendingMembershipCheck | undefined).find(Boolean),
    );
  // A batchable request that ends up alone in its batch is dispatched through singleLoader too.
  options.singleLoader = (request) =>
    TENANT in request ? dispatch([request], () => singleLoader(request)) : singleLoader(request);
  options.batchLoader = (requests) => dispatch(requests, () => batchLoader(requests));
  options[GUARDED] = true;
}
