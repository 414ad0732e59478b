/**
 * The tenant-scoped Prisma client: layer 1 (this extension rewrites every query's arguments to the
 * current workspace) on top of layer 2 (the driver runs every query with the workspace's
 * transaction-local setting, which PostgreSQL's Row-Level Security policies check).
 *
 * @example Outside Nest (a script or worker):
 * const prisma = createTenantPrismaClient(
 *   new PrismaClient({ adapter: createTenantAdapter(process.env.DATABASE_URL!) }),
 * );
 * await runInTenant(workspaceId, async () => {
 *   await prisma.approvalItem.create({ data: { title: 'Deploy v2' } }); // workspaceId filled in
 *   return prisma.approvalItem.findMany(); // this workspace's items only
 * });
 */
import type { PrismaClient } from '@prisma/client';
import { Extensions, PrismaClientKnownRequestError } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { resolvePoolOptions, type TenantPoolOptions } from '../driver/pool-options';
import { guardBatchesByTenant } from './tenant-batch-guard';
import { tenantContext } from '../context/tenant-context';
import { buildTenantModelMap, type IdentityOptions, type TenantModelMap } from './tenant-models';
import { schemaSourceOf, type PrismaNamespaceLike } from './prisma-client-schema';
import { sameId, TenantScoper, type ScopeContext } from './tenant-scoper';
import { TenantAdapterFactory } from '../driver/tenant-adapter';
import { TenantAwarePool } from '../driver/tenant-aware-pool';
import { TenantSettingSigner } from '../driver/tenant-setting.signer';
import { InvalidSettingSecretError } from '../errors/invalid-setting-secret.error';
import type { TenantScopedClient } from './tenant-client.types';
import { resolveSqlNames, type TenancySqlNamesOptions } from '../sql/tenancy-sql-names';

export { isUuid, runInTenant, tenantContext, type TenantStore } from '../context/tenant-context';

/**
 * The tenant-scoped client. It has PrismaClient's API: the extension changes arguments, so it is
 * typed as PrismaClient (an inferred `$extends` type is large enough to break declaration output,
 * prisma/prisma#16536), plus lookups by `{ id }` on models keyed by `(workspaceId, id)` (see
 * TenantScopedClient).
 */
export type TenantPrismaClient = TenantScopedClient<PrismaClient>;

/** Which models are tenant-scoped. Defaults as in PrismaModuleOptions. */
export interface TenantClientOptions {
  /** Default `'workspaceId'`. */
  tenantField?: string;
  /** Default: every model with `tenantField`. */
  tenantModels?: readonly string[];
  /** Default: `'Workspace'` when the schema has it. */
  tenantRootModel?: string | null;
  /**
   * Identity scoping of the global models (`User`, `Account`, `Session`, `VerificationToken`):
   * see IdentityOptions for each default. `false` leaves them unscoped. Default: on.
   */
  identity?: false | IdentityOptions;
  /**
   * The app's generated `Prisma` namespace. Optional: the schema is read from the client instance
   * (`_runtimeDataModel`, `_engineConfig.inlineSchema`); `Prisma.dmmf` is only a fallback.
   */
  prismaNamespace?: PrismaNamespaceLike;
}

export type { TenantPoolOptions };

/** Options of `createTenantAdapter`: the pool settings plus the tenant setting's secret. */
export interface TenantAdapterOptions extends TenantPoolOptions {
  /** Signs the tenant setting. Default: `process.env.TENANT_SETTING_SECRET`; required. */
  settingSecret?: string;
  /**
   * The names of the library's SQL objects, as the RLS migration was generated with them (see
   * TenancySqlNamesOptions); the pool sets `sql.setting`. Default: DEFAULT_SQL_NAMES
   * (`app.workspace_id`, `public.current_workspace_id()`, ...).
   */
  sql?: TenancySqlNamesOptions;
}

/** Prisma-specific URL parameters that mean nothing to node-postgres. */
const PRISMA_ONLY_PARAMS = [
  'pgbouncer',
  'connection_limit',
  'pool_timeout',
  'schema',
  'statement_cache_size',
];

/** Margin of the client-side query timeout over the server's statement_timeout. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;

/** The schema of a connection URL: Prisma's `?schema=` parameter, default `public`. */
export function schemaOf(url: string): string {
  return new URL(url).searchParams.get('schema') || 'public';
}

/** node-postgres settings for a connection URL (Prisma-only URL parameters removed). */
export function poolConfigFor(url: string, options: TenantPoolOptions = {}): pg.PoolConfig {
  const parsed = new URL(url);
  for (const param of PRISMA_ONLY_PARAMS) parsed.searchParams.delete(param);
  const pool = resolvePoolOptions(options);
  return {
    connectionString: parsed.toString(),
    max: pool.max,
    connectionTimeoutMillis: pool.connectionTimeoutMillis,
    idleTimeoutMillis: pool.idleTimeoutMillis,
    // A backstop only: the server's statement_timeout (pinned by the tenant pool) fires first and
    // leaves the connection usable; this one discards a connection that stopped answering.
    query_timeout: pool.queryTimeoutMillis
      ? pool.queryTimeoutMillis + CLIENT_TIMEOUT_MARGIN_MS
      : undefined,
  };
}

/**
 * The driver adapter of the tenant client: `@prisma/adapter-pg` over a pool that applies the
 * current tenant's signed, transaction-local setting to every query, at no extra round trip.
 *
 * @throws InvalidSettingSecretError when no secret (or a short one) is configured.
 * @throws InvalidPrismaModuleOptionsError when a name of `sql` is not a plain identifier.
 */
export function createTenantAdapter(
  url: string,
  options: TenantAdapterOptions = {},
): TenantAdapterFactory {
  const { settingSecret, sql, ...poolOptions } = options;
  const names = resolveSqlNames(sql);
  const secret = settingSecret ?? process.env.TENANT_SETTING_SECRET;
  if (!secret) throw new InvalidSettingSecretError('none is configured');
  const pool = resolvePoolOptions(poolOptions);
  return new TenantAdapterFactory(
    new TenantAwarePool(poolConfigFor(url, pool), {
      claims: () => ({
        tenantId: tenantContext.getTenantId(),
        userId: tenantContext.getUserId(),
        membership: tenantContext.getPendingMembershipCheck(),
      }),
      signer: new TenantSettingSigner(secret),
      schema: schemaOf(url),
      statementTimeoutMillis: pool.queryTimeoutMillis,
      idleInTransactionTimeoutMillis: pool.idleInTransactionTimeoutMillis,
      maxConnectionsPerTenant: pool.maxConnectionsPerTenant,
      tenantWaitMillis: pool.connectionTimeoutMillis,
      sql: names,
      settingMode: pool.settingMode,
    }),
  );
}

/**
 * The error `findUniqueOrThrow` gives for a missing row, for a row of another tenant too. Its class
 * is the one of the query compiler runtime every generated client (engineType "client", Prisma 7's
 * `prisma-client`) shares, so `instanceof Prisma.PrismaClientKnownRequestError` holds in the app.
 */
function notFound(model: string, clientVersion: string): PrismaClientKnownRequestError {
  return new PrismaClientKnownRequestError('No record was found for a query.', {
    code: 'P2025',
    clientVersion,
    meta: { modelName: model, cause: 'No record was found for a query.' },
  });
}

const RAW_OPERATIONS = [
  '$queryRaw',
  '$executeRaw',
  '$queryRawUnsafe',
  '$executeRawUnsafe',
] as const;

/** The tenant and user the scoper works for: the current request's or job's. */
const CURRENT: ScopeContext = {
  tenantId: () => tenantContext.getTenantId(),
  userId: () => tenantContext.getUserId(),
};

/**
 * A Prisma Client extension as `defineExtension` returns it: pass it to `client.$extends(...)`.
 * Typed opaquely; the extended client has the base client's type.
 */
export type TenantExtension = (client: never) => unknown;

/**
 * The Prisma Client extension of layer 1. Every operation on a tenant-scoped model gets its
 * arguments scoped when the query runs (when awaited, not when built); with no tenant in context
 * it throws `MissingTenantContextError` and sends nothing. Identity models are scoped to the
 * current user and the current tenant's members (see TenantScoper). Raw SQL needs a tenant too,
 * and runs under Row-Level Security with it.
 */
export function tenantExtension(map: TenantModelMap, clientVersion = 'unknown'): TenantExtension {
  const scoper = new TenantScoper(map);
  const raw = Object.fromEntries(
    RAW_OPERATIONS.map((operation) => [
      operation,
      ({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) => {
        tenantContext.requireTenantId(operation);
        return query(args);
      },
    ]),
  );
  return Extensions.defineExtension({
    name: 'tenant-scope',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const input = args as Record<string, unknown> | undefined;
          const read = scoper.verifiedUniqueRead(model, operation, input, CURRENT);
          if (!read) return query(scoper.scope(model, operation, input, CURRENT) as typeof args);

          const row = (await query(read.args as typeof args)) as Record<string, unknown> | null;
          if (row === null) return row;
          if (!sameId(row[read.tenantField], read.tenantId)) {
            if (operation === 'findUniqueOrThrow') throw notFound(model, clientVersion);
            return null;
          }
          if (read.stripTenantField) delete row[read.tenantField];
          return row;
        },
      },
      ...raw,
    },
  });
}

/**
 * Extends `base` (the app's PrismaClient instance, built with `createTenantAdapter`) into the
 * tenant-scoped client, and keeps `base`'s request batching from mixing tenants or users (see
 * guardBatchesByTenant). The schema is read from `base` itself, whatever its generator and output.
 *
 * @throws InvalidPrismaModuleOptionsError when `base` is not a usable Prisma Client, or an option
 *   names what the schema does not have (or no model has the tenant field).
 */
export function createTenantPrismaClient<Client extends object = PrismaClient>(
  base: Client,
  options: TenantClientOptions = {},
): TenantScopedClient<Client> {
  const source = schemaSourceOf(base, options.prismaNamespace);
  const map = buildTenantModelMap({
    tenantField: options.tenantField,
    tenantOwned: options.tenantModels,
    rootModel: options.tenantRootModel,
    identity: options.identity,
    models: source.models,
    schema: source.schema,
  });
  guardBatchesByTenant(
    base,
    () => tenantContext.getTenantId(),
    () => tenantContext.getUserId(),
  );
  const version = (base as { _clientVersion?: unknown })._clientVersion;
  const extensible = base as unknown as { $extends(extension: unknown): unknown };
  return extensible.$extends(
    tenantExtension(map, typeof version === 'string' ? version : undefined),
  ) as TenantScopedClient<Client>;
}
