import { TenancyError } from './tenancy.error';

/**
 * A query needs the current user (it reads or writes identity rows owned by one user, such as
 * `Account` or `Session`, or writes the `User` row), but none is set in the current context. The
 * query was not sent. Fail-closed by design, like MissingTenantContextError.
 */
export class MissingUserContextError extends TenancyError {
  constructor(readonly target: string) {
    super(
      `${target} needs the current user, but none is set in the current context, so the query was ` +
        `not run. In an HTTP handler, mark the controller or handler with @TenantScoped() or ` +
        `@Authenticated() (the token's sub becomes the user); in a job acting for a user, use ` +
        `runInTenant(tenantId, () => ..., { userId }); for work that is not on behalf of one ` +
        `user, use SystemPrisma.forReason(...).`,
    );
  }
}
