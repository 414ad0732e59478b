import { UnsupportedPrismaVersionError } from '../errors/unsupported-prisma-version.error';
import { guardBatchesByTenant } from './tenant-batch-guard';
import { runInTenant, tenantContext } from '../context/tenant-context';

const A = '8b0f6f0e-2f7a-4c39-9a51-0d4c2b7e1a01';
const U1 = '44444444-4444-4444-8444-444444444444';
const U2 = '55555555-5555-4555-8555-555555555555';

type Request = Record<PropertyKey, unknown>;

/** A stand-in for Prisma Client 6.19's request batching internals, recording each dispatch. */
function fakeClient() {
  const dispatched: { loader: string; tenantId?: string; userId?: string }[] = [];
  const seen = (loader: string) => (_request: unknown) => {
    dispatched.push({
      loader,
      tenantId: tenantContext.getTenantId(),
      userId: tenantContext.getUserId(),
    });
    return Promise.resolve([]);
  };
  const options = {
    batchBy: (request: Request) => request.key as string | undefined,
    batchLoader: seen('batch'),
    singleLoader: seen('single'),
  };
  return { client: { _requestHandler: { dataloader: { options } } }, options, dispatched };
}

describe('guardBatchesByTenant', () => {
  it('keys batches by tenant and user, and dispatches each in its own tenant and user', async () => {
    const { client, options, dispatched } = fakeClient();
    guardBatchesByTenant(
      client,
      () => tenantContext.getTenantId(),
      () => tenantContext.getUserId(),
    );
    const first: Request = { key: 'findUnique User' };
    const second: Request = { key: 'findUnique User' };
    const keys = await Promise.all([
      runInTenant(A, () => options.batchBy(first), { userId: U1 }),
      runInTenant(A, () => options.batchBy(second), { userId: U2 }),
    ]);
    expect(keys).toEqual([`${A}|${U1}|findUnique User`, `${A}|${U2}|findUnique User`]);

    // Dispatched from another context (Prisma's nextTick runs in the first caller's).
    await runInTenant(A, async () => {
      await options.batchLoader([second]);
      await options.singleLoader(first);
      await options.singleLoader({ key: 'not batchable' });
    });
    expect(dispatched).toEqual([
      { loader: 'batch', tenantId: A, userId: U2 },
      { loader: 'single', tenantId: A, userId: U1 },
      { loader: 'single', tenantId: A, userId: undefined },
    ]);
  });

  it('throws UnsupportedPrismaVersionError when the internals are missing', () => {
    expect(() => guardBatchesByTenant({}, () => undefined)).toThrow(UnsupportedPrismaVersionError);
  });
});
