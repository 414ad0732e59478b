import { TenancyError } from './tenancy.error';

/**
 * A statement left its pooled connection in a state no other request may inherit (inside an open
 * transaction, or still busy). The connection was discarded, not returned to the pool.
 */
export class ConnectionStateError extends TenancyError {
  constructor(readonly state: string) {
    super(
      `A statement left its database connection ${state}; the connection was discarded. Raw SQL on ` +
        `the tenant client must not control transactions (BEGIN, COMMIT, ROLLBACK): use ` +
        `prisma.$transaction(...) instead.`,
    );
  }
}
