import { TenantBusyError } from '../errors/tenant-busy.error';

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

interface Bucket {
  active: number;
  waiters: Waiter[];
}

/** Gives back one permit; calling it again does nothing. */
export type ReleasePermit = () => void;

/**
 * Caps how many database operations one tenant runs at once, so that one workspace flooding the
 * API cannot take every pooled connection from the others. Work without a tenant shares one
 * bucket of its own. Waiters are served in arrival order; one that waits longer than `waitMs`
 * fails with TenantBusyError (503 with Retry-After through the filter) and nothing is sent.
 */
export class TenantLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: number,
    private readonly waitMs: number,
  ) {}

  /** A permit for `tenantId`, at once when one is free, else after waiting (or TenantBusyError). */
  acquire(tenantId: string | undefined): Promise<ReleasePermit> {
    const key = tenantId ?? '';
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { active: 0, waiters: [] };
      this.buckets.set(key, bucket);
    }
    if (bucket.active < this.limit) {
      bucket.active++;
      return Promise.resolve(this.releaser(key, bucket));
    }
    const started = Date.now();
    const current = bucket;
    return new Promise<ReleasePermit>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve(this.releaser(key, current));
        },
        timer: setTimeout(() => {
          const index = current.waiters.indexOf(waiter);
          if (index >= 0) current.waiters.splice(index, 1);
          reject(new TenantBusyError(tenantId, this.limit, Date.now() - started));
        }, this.waitMs),
      };
      current.waiters.push(waiter);
    });
  }

  /** Operations running now for `tenantId` (for tests and metrics). */
  active(tenantId: string | undefined): number {
    return this.buckets.get(tenantId ?? '')?.active ?? 0;
  }

  private releaser(key: string, bucket: Bucket): ReleasePermit {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = bucket.waiters.shift();
      // The permit passes straight to the next waiter: `active` stays the same.
      if (next) return next.grant();
      bucket.active--;
      if (bucket.active === 0 && this.buckets.get(key) === bucket) this.buckets.delete(key);
    };
  }
}
