import pg from 'pg';
import { TENANT_SETTING } from '../prisma.constants';
import { isUuid } from './tenant-context';
import { TenantBoundQuery } from './tenant-bound-query';

const BINDING = Symbol('tenant-binding');

/** The tenant a checked-out connection's transaction belongs to (layer 2). */
type BoundClient = pg.PoolClient & { [BINDING]?: string };

function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  const text = (config as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

/**
 * A node-postgres client whose transaction, when its connection was checked out for a tenant,
 * starts with that tenant's setting: `BEGIN` becomes `BEGIN; SET LOCAL app.workspace_id = '...'`
 * in the same round trip. `SET LOCAL` takes no snapshot, so a following
 * `SET TRANSACTION ISOLATION LEVEL` still works; the value ends with the transaction.
 */
class TenantAwareClient extends pg.Client {
  // node-postgres' `query` has many overloads; this override forwards each one unchanged.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const tenantId = (this as unknown as BoundClient)[BINDING];
    if (tenantId !== undefined && queryText(args[0])?.trim().toUpperCase() === 'BEGIN') {
      // The id was checked to be a UUID when bound; escaping is belt and braces.
      const begin = `BEGIN; SET LOCAL ${TENANT_SETTING} = ${pg.escapeLiteral(tenantId)}`;
      args[0] = typeof args[0] === 'string' ? begin : { ...(args[0] as object), text: begin };
    }
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
    return (super.query as (...a: any[]) => unknown)(...args);
  }
}

/**
 * True for errors after which a connection must not go back to the pool: anything that is not an
 * error reported by PostgreSQL for the statement, and PostgreSQL errors that end the session
 * (FATAL/PANIC, admin shutdown 57P*, connection exceptions 08*).
 */
export function breaksConnection(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  return (
    error.severity === 'FATAL' || error.severity === 'PANIC' || /^(57P|08)/.test(error.code ?? '')
  );
}

/**
 * The connection pool under the tenant client (layer 2 of the isolation).
 *
 * Every query issued while a tenant is in context (as told by `currentTenant`, read when the
 * driver calls the pool, before any wait for a free connection) runs with that tenant's
 * transaction-local setting on the same connection, at no extra round trip:
 * - a single statement is pipelined with `set_config(..., true)` (see TenantBoundQuery);
 * - a transaction (interactive or batch) gets the setting in its `BEGIN` round trip.
 * Queries with no tenant in context run as they are: Row-Level Security then shows them no
 * tenant-owned rows.
 */
export class TenantAwarePool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly currentTenant: () => string | undefined,
  ) {
    super({ ...config, Client: TenantAwareClient });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const tenantId = this.currentTenant();
    const submittable = typeof (args[0] as { submit?: unknown } | null)?.submit === 'function';
    if (tenantId === undefined || submittable || typeof args[args.length - 1] === 'function') {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
      return (super.query as (...a: any[]) => unknown)(...args);
    }
    const config: pg.QueryConfig =
      typeof args[0] === 'string' ? { text: args[0] } : (args[0] as pg.QueryConfig);
    return this.queryAsTenant(tenantId, config, args[1] as unknown[] | undefined);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override connect(...args: any[]): any {
    if (args.length > 0) {
      // Callback style is pg-pool's own path (pool.query without tenant): no binding, cleared.
      const callback = args[0] as (
        err: Error | undefined,
        client?: BoundClient,
        done?: unknown,
      ) => void;
      return super.connect((err, client, done) => {
        if (client) delete (client as BoundClient)[BINDING];
        callback(err, client as BoundClient, done);
      });
    }
    const tenantId = this.currentTenant();
    return super.connect().then((client: BoundClient) => {
      if (tenantId !== undefined && isUuid(tenantId)) client[BINDING] = tenantId;
      else delete client[BINDING];
      return client;
    });
  }

  private async queryAsTenant(
    tenantId: string,
    config: pg.QueryConfig,
    values: unknown[] | undefined,
  ): Promise<pg.QueryResult> {
    const client = await super.connect();
    let failure: unknown;
    // A checked-out client reports a dying connection as an 'error' event; without a listener
    // Node would crash the process. The query itself fails with the same error.
    const onError = (error: Error) => {
      failure ??= error;
    };
    client.on('error', onError);
    try {
      return await new Promise<pg.QueryResult>((resolve, reject) => {
        void client.query(
          new TenantBoundQuery(config, values ?? config.values, tenantId, (error, result) =>
            error ? reject(error) : resolve(result as pg.QueryResult),
          ),
        );
      });
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(
        failure !== undefined && breaksConnection(failure) ? (failure as Error) : undefined,
      );
    }
  }
}
