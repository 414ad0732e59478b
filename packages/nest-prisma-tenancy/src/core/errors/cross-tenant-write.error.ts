import { TenancyError } from './tenancy.error';

/**
 * A write named a workspace other than the current one (creating a row elsewhere, moving a row, or
 * connecting the tenant relation to another workspace). Nothing was written.
 */
export class CrossTenantWriteError extends TenancyError {
  constructor(
    readonly model: string,
    readonly detail: string,
  ) {
    super(
      `${model}: ${detail}. The tenant client writes only to the current tenant; leave the ` +
        `tenant out of the data (it is filled in for you), or use the system client for ` +
        `deliberate cross-tenant administration.`,
    );
  }
}
