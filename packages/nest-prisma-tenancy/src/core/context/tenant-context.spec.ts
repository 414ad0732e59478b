import { ClsServiceManager } from 'nestjs-cls';
import { InvalidTenantIdError } from '../errors/invalid-tenant-id.error';
import { InvalidUserIdError } from '../errors/invalid-user-id.error';
import { MissingUserContextError } from '../errors/missing-user-context.error';
import {
  runInTenant,
  runWithTenantOrNone,
  tenantContext,
  type TenantStore,
} from './tenant-context';

const A = '8b0f6f0e-2f7a-4c39-9a51-0d4c2b7e1a01';
const B = '3c9d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e02';
const U1 = '44444444-4444-4444-8444-444444444444';
const U2 = '55555555-5555-4555-8555-555555555555';

const current = () => ({
  tenantId: tenantContext.getTenantId(),
  userId: tenantContext.getUserId(),
});

/** Runs `fn` in a context like a request's after TenantGuard: a user, and maybe a tenant. */
function inRequest<T>(store: TenantStore, fn: () => Promise<T>): Promise<T> {
  return ClsServiceManager.getClsService<TenantStore>().runWith({ ...store }, fn);
}

describe('runInTenant', () => {
  it('keeps the caller’s user (a request’s, or an outer runInTenant’s)', async () => {
    await expect(
      inRequest({ userId: U1 }, () => runInTenant(A, () => Promise.resolve(current()))),
    ).resolves.toEqual({ tenantId: A, userId: U1 });
    await expect(
      runInTenant(A, () => runInTenant(B, () => Promise.resolve(current())), { userId: U1 }),
    ).resolves.toEqual({ tenantId: B, userId: U1 });
  });

  it('acts for the user given in options, lower-cased, and leaves the caller’s context alone', async () => {
    const seen = await inRequest({ tenantId: A, userId: U1 }, async () => {
      const inner = await runInTenant(B, () => Promise.resolve(current()), {
        userId: U2.toUpperCase(),
      });
      return { inner, after: current() };
    });
    expect(seen).toEqual({
      inner: { tenantId: B, userId: U2 },
      after: { tenantId: A, userId: U1 },
    });
  });

  it('has no user outside any context unless one is given', async () => {
    await expect(runInTenant(A, () => Promise.resolve(current()))).resolves.toEqual({
      tenantId: A,
      userId: undefined,
    });
    await expect(
      runInTenant(A, () => tenantContext.requireUserId('Account.findMany')),
    ).rejects.toThrow(new MissingUserContextError('Account.findMany'));
  });

  it('rejects an id that is not a UUID without running the callback', async () => {
    const fn = jest.fn();
    await expect(runInTenant('nope', fn)).rejects.toBeInstanceOf(InvalidTenantIdError);
    await expect(runInTenant(A, fn, { userId: 'nope' })).rejects.toBeInstanceOf(InvalidUserIdError);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('runWithTenantOrNone', () => {
  it('runs with exactly the given tenant and user, either of which may be none', () => {
    const outer = { tenantId: B, userId: U2 };
    expect(
      ClsServiceManager.getClsService<TenantStore>().runWith(outer, () => [
        runWithTenantOrNone(A, current, U1),
        runWithTenantOrNone(A, current),
        runWithTenantOrNone(undefined, current, U1),
        runWithTenantOrNone(undefined, current),
      ]),
    ).toEqual([
      { tenantId: A, userId: U1 },
      { tenantId: A, userId: undefined },
      { tenantId: undefined, userId: U1 },
      { tenantId: undefined, userId: undefined },
    ]);
  });
});
