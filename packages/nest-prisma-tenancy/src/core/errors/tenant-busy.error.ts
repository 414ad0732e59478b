import { TenancyError } from './tenancy.error';

/**
 * One tenant already uses its share of the connection pool and its request waited too long for a
 * turn. Nothing was sent. Mapped to 503 with `Retry-After` by PrismaExceptionFilter.
 */
export class TenantBusyError extends TenancyError {
  constructor(
    readonly tenantId: string | undefined,
    readonly limit: number,
    readonly waitedMs: number,
    readonly retryAfterSeconds = 1,
  ) {
    super(
      `The ${tenantId === undefined ? 'untenanted work' : `tenant ${tenantId}`} already runs ${limit} ` +
        `database operations at once (pool.maxConnectionsPerTenant) and this one waited ${waitedMs} ms ` +
        `for a turn. Retry later, or raise pool.maxConnectionsPerTenant / pool.max.`,
    );
  }
}
