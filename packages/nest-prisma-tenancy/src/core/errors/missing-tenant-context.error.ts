import { TenancyError } from './tenancy.error';

/**
 * A tenant-owned model was queried with no tenant in the current context. The query was not sent.
 * Fail-closed by design: an unscoped query is never the fallback.
 */
export class MissingTenantContextError extends TenancyError {
  constructor(readonly target: string) {
    super(
      `${target} needs a tenant, but none is set in the current context, so the query was not run. ` +
        `In an HTTP handler, mark the controller or handler with @TenantScoped(); in a job, script or ` +
        `queue handler, wrap the work in runInTenant(tenantId, () => ...). A query built inside ` +
        `runInTenant but awaited outside it runs outside the tenant too: await it inside the callback.`,
    );
  }
}
