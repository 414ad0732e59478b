/**
 * The tenant client's type: PrismaClient's, plus lookups by `{ id }` on models keyed by
 * `(tenant, id)`.
 *
 * On a schema keyed for Citus (`@@id([workspaceId, id])`), Prisma's unique input is the compound
 * `{ workspaceId_id: { workspaceId, id } }`. The tenant client (layer 1) supplies the tenant, so it
 * accepts `{ id }` at run time (TenantScoper maps it to the compound key); these types let the same
 * call type-check: `findUnique`, `findUniqueOrThrow`, `update`, `upsert` and `delete` take
 * `where: { id, ... }`, and `findMany` / `findFirst` / `findFirstOrThrow` take `cursor: { id }`.
 * Nested unique inputs (`connect: { id }` inside `data`) keep Prisma's types: name the compound key
 * there or set the foreign key field. The unscoped and admin clients keep Prisma's types: a lookup
 * by id alone there must name the tenant.
 */
import type { Prisma, PrismaClient } from '@prisma/client';
import type { ITXClientDenyList } from '@prisma/client/runtime/client';

/** The compound key Prisma names for `@@id([<tenantField>, id])`. */
type CompoundKey<TenantField extends string> = `${TenantField}_id`;

/** A unique input keyed by (tenant, id), also accepted as `{ id, ...filters }`. */
type WithIdLookup<W, Key extends string> = W | (Omit<W, Key> & { id: string });

/** Operations whose `where` is a unique input. */
type UniqueWhereOperation = 'findUnique' | 'findUniqueOrThrow' | 'update' | 'upsert' | 'delete';
/** Operations whose `cursor` is a unique input. */
type CursorOperation = 'findMany' | 'findFirst' | 'findFirstOrThrow';

type RelaxedArgs<A, Key extends string> = A extends { where: infer W }
  ? Omit<A, 'where'> & { where: WithIdLookup<W, Key> }
  : A extends { cursor?: infer C }
    ? Omit<A, 'cursor'> & { cursor?: WithIdLookup<NonNullable<C>, Key> }
    : A;

/** `true` when the delegate's unique input is keyed by (tenant, id). */
type IsTenantKeyed<D, Key extends string> =
  Prisma.Args<D, 'findUnique'> extends { where: infer W }
    ? Key extends keyof W
      ? true
      : false
    : false;

/** The extra overloads of one model delegate. */
type IdLookupOverloads<D, Key extends string> = {
  [O in UniqueWhereOperation | CursorOperation]: O extends 'findUnique' | 'findFirst'
    ? <A extends RelaxedArgs<Prisma.Args<D, O>, Key>>(
        args: Prisma.Exact<A, RelaxedArgs<Prisma.Args<D, O>, Key>>,
      ) => Prisma.PrismaPromise<Prisma.Result<D, A, O>>
    : O extends 'findMany'
      ? <A extends RelaxedArgs<Prisma.Args<D, O>, Key>>(
          args?: Prisma.Exact<A, RelaxedArgs<Prisma.Args<D, O>, Key>>,
        ) => Prisma.PrismaPromise<Prisma.Result<D, A, O>>
      : <A extends RelaxedArgs<Prisma.Args<D, O>, Key>>(
          args: Prisma.Exact<A, RelaxedArgs<Prisma.Args<D, O>, Key>>,
        ) => Prisma.PrismaPromise<Prisma.Result<D, A, O>>;
};

/** A model delegate with the overloads when its model is keyed by (tenant, id). */
type TenantDelegate<D, Key extends string> =
  IsTenantKeyed<D, Key> extends true
    ? {
        [O in keyof D]: O extends keyof IdLookupOverloads<D, Key>
          ? D[O] & IdLookupOverloads<D, Key>[O]
          : D[O];
      }
    : D;

/** The interactive transaction's client, with the same overloads. */
type TenantTransaction<C, Key extends string> = <R>(
  fn: (prisma: Omit<TenantScopedClient<C, Key>, ITXClientDenyList>) => Promise<R>,
  options?: Parameters<PrismaClient['$transaction']>[1],
) => Promise<R>;

/**
 * `C` (a PrismaClient type) as the tenant client types it: each model keyed by `(tenant, id)` also
 * accepts `{ id }` as its unique input (see the file comment).
 */
export type TenantScopedClient<C, Key extends string = CompoundKey<'workspaceId'>> = {
  [K in keyof C]: K extends '$transaction'
    ? TenantTransaction<C, Key> & C[K]
    : K extends `$${string}`
      ? C[K]
      : TenantDelegate<C[K], Key>;
};
