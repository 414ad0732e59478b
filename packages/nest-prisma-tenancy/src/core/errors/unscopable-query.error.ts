import { TenancyError } from './tenancy.error';

/** What UnscopableQueryError advises by default: the fix for tenant-owned relations. */
const TENANT_ADVICE =
  'Query the tenant-owned model directly (it is scoped), or give the relation a composite foreign ' +
  'key that includes the tenant field (see README, "Adding a tenant-owned model").';

/**
 * The query reaches tenant-owned rows in a way the tenant client cannot restrict to the current
 * workspace (for example a to-one relation into a tenant-owned model that does not carry the
 * workspace in its foreign key), or identity rows in a way the tenant client does not allow (another
 * user's row, a system-only model, a secret field). It is refused rather than run unscoped.
 */
export class UnscopableQueryError extends TenancyError {
  /**
   * @param advice How to fix it. Default: the advice for tenant-owned relations.
   */
  constructor(
    readonly model: string,
    readonly path: string,
    reason: string,
    advice: string = TENANT_ADVICE,
  ) {
    super(`${model}.${path}: ${reason}. ${advice}`);
  }
}
