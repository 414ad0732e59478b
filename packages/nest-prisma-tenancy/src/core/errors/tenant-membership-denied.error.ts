import { TenancyError } from './tenancy.error';

/**
 * The membership check that rode on a request's first query (see `PendingMembershipCheck`) found
 * that the user is not, or no longer, a member of the tenant. The query did not run: the check
 * and the query share one transaction. Mapped to 403 by PrismaExceptionFilter.
 */
export class TenantMembershipDeniedError extends TenancyError {
  constructor(
    readonly tenantId: string,
    readonly userId: string,
  ) {
    super(
      `User ${userId} is not a member of tenant ${tenantId}, so the query did not run. Expected ` +
        'for a removed member; if every member gets it, check the membership option (model and ' +
        'fields) and that the runtime role can read the membership table under Row-Level Security.',
    );
  }
}

/**
 * True when `error`, or an error it wraps (`cause`), is a TenantMembershipDeniedError; matched by
 * name too, for a copy of this library loaded twice.
 */
export function isTenantMembershipDenied(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    if (e instanceof TenantMembershipDeniedError) return true;
    if ((e as { name?: unknown }).name === 'TenantMembershipDeniedError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
