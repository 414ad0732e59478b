import { TenancyError } from './tenancy.error';

/**
 * The query reaches tenant-owned rows in a way the tenant client cannot restrict to the current
 * workspace (for example a to-one relation into a tenant-owned model that does not carry the
 * workspace in its foreign key). It is refused rather than run unscoped.
 */
export class UnscopableQueryError extends TenancyError {
  constructor(
    readonly model: string,
    readonly path: string,
    reason: string,
  ) {
    super(
      `${model}.${path}: ${reason}. Query the tenant-owned model directly (it is scoped), or give ` +
        `the relation a composite foreign key that includes workspaceId (see README, "Adding a ` +
        `tenant-owned model").`,
    );
  }
}
