import { TenancyError } from './tenancy.error';

/**
 * A query was sent through a tenant client whose connection pool was closed (after `$disconnect()`
 * or application shutdown). It is refused rather than silently opening a new pool without the
 * tenant setting.
 */
export class ClientClosedError extends TenancyError {
  constructor() {
    super(
      'The tenant client was disconnected and its connection pool is closed, so the query was not ' +
        'run. Create a new client (createTenantAdapter) instead of reusing one after $disconnect().',
    );
  }
}
