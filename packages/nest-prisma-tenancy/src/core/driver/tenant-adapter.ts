import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { ClientClosedError } from '../errors/client-closed.error';
import type { TenantAwarePool } from './tenant-aware-pool';

/**
 * The tenant client's driver adapter factory: `@prisma/adapter-pg` over a TenantAwarePool that it
 * owns. Disconnecting ends the pool; connecting again afterwards throws `ClientClosedError`.
 *
 * (`PrismaPg` with `disposeExternalPool` would, on reconnect, quietly build a plain `pg.Pool` from
 * the ended pool's options: a pool without the tenant setting, so without layer 2.)
 */
export class TenantAdapterFactory implements SqlDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly inner: PrismaPg;

  constructor(readonly pool: TenantAwarePool) {
    this.inner = new PrismaPg(pool, { disposeExternalPool: false });
  }

  async connect(): Promise<SqlDriverAdapter> {
    if (this.pool.ended) throw new ClientClosedError();
    const adapter = await this.inner.connect();
    const pool = this.pool;
    return new Proxy(adapter, {
      get(target, property) {
        if (property === 'dispose') {
          return async () => {
            await target.dispose();
            if (!pool.ended) await pool.end();
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function'
          ? (value as (...args: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }
}
