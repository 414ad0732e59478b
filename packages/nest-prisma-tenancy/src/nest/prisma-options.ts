import { resolvePoolOptions, type ResolvedPoolOptions } from '../core/driver/pool-options';
import { InvalidPrismaModuleOptionsError } from '../core/errors/invalid-prisma-module-options.error';
import { resolveSqlNames, type TenancySqlNames } from '../core/sql/tenancy-sql-names';
export { InvalidPrismaModuleOptionsError, resolvePoolOptions, type ResolvedPoolOptions };
import type {
  PrismaLogLevel,
  PrismaModuleOptions,
} from './interfaces/prisma-module-options.interface';
import {
  defaultPrismaClientClass,
  requirePrismaClientClass,
  type PrismaClientClass,
  type PrismaNamespaceLike,
} from '../core/client/prisma-client-schema';

/** PrismaModuleOptions with every default applied. */
export type ResolvedPrismaOptions = Required<
  Omit<
    PrismaModuleOptions,
    | 'url'
    | 'systemUrl'
    | 'tenantModels'
    | 'tenantRootModel'
    | 'jwt'
    | 'pool'
    | 'settingSecret'
    | 'auth'
    | 'membership'
    | 'client'
    | 'prismaNamespace'
    | 'sql'
  >
> & {
  /** The names of the library's SQL objects, checked, with every default applied. */
  sql: TenancySqlNames;
  /** The app's PrismaClient class (checked); `@prisma/client`'s when the option is not given. */
  client: PrismaClientClass;
  prismaNamespace: PrismaNamespaceLike | undefined;
  /** `undefined` when neither `url` nor DATABASE_URL is set (see `requireUrl`). */
  url: string | undefined;
  systemUrl: string | undefined;
  tenantModels: string[] | undefined;
  tenantRootModel: string | null | undefined;
  jwt: Required<Pick<NonNullable<PrismaModuleOptions['jwt']>, 'clockToleranceSeconds'>> &
    Omit<NonNullable<PrismaModuleOptions['jwt']>, 'clockToleranceSeconds'>;
  pool: ResolvedPoolOptions;
  /** `undefined` when neither `settingSecret` nor TENANT_SETTING_SECRET is set. */
  settingSecret: string | undefined;
};

/**
 * The runtime connection URL of resolved options.
 *
 * @throws InvalidPrismaModuleOptionsError when neither `url` nor DATABASE_URL is set.
 */
export function requireUrl(settings: ResolvedPrismaOptions): string {
  if (settings.url) return settings.url;
  throw new InvalidPrismaModuleOptionsError(
    'PrismaModule has no connection URL: pass { url } to PrismaModule.forRoot()/forRootAsync() or set ' +
      `DATABASE_URL, e.g. DATABASE_URL=postgresql://${settings.sql.runtimeRole}:secret@localhost:6432/app`,
  );
}

/** Shortest validity of a signed setting: the signer reuses a value for 20 s (TenantSettingSigner). */
const MIN_SETTING_MAX_AGE_SECONDS = 60;

/** `settingMaxAgeSeconds`, default 300; a whole number from 60 to 86400. */
function settingMaxAge(value: number | undefined): number {
  if (value === undefined) return 300;
  if (!Number.isInteger(value) || value < MIN_SETTING_MAX_AGE_SECONDS || value > 86_400) {
    throw new InvalidPrismaModuleOptionsError(
      `settingMaxAgeSeconds must be a whole number of seconds from ${MIN_SETTING_MAX_AGE_SECONDS} ` +
        `to 86400 (got ${String(value)}): a signed tenant setting is reused for up to 20 s, and ` +
        `must still be valid when the transaction that carries it starts. Use 300 (the default) ` +
        `unless you have a reason to change it.`,
    );
  }
  return value;
}

/**
 * Applies the documented defaults (environment variables included) to PrismaModule options: the
 * one place where they live, for every provider of the module.
 *
 * @throws InvalidPrismaModuleOptionsError when a name of `sql` is not usable (see resolveSqlNames),
 *   or `settingMaxAgeSeconds` is outside 60-86400.
 */
export function resolvePrismaOptions(
  options: PrismaModuleOptions,
  env = process.env,
): ResolvedPrismaOptions {
  const url = options.url ?? env.DATABASE_URL;
  const development = (env.NODE_ENV ?? 'development') === 'development';
  const log: PrismaLogLevel[] =
    options.log ?? (development ? ['query', 'error', 'warn'] : ['error', 'warn']);
  return {
    client:
      options.client === undefined
        ? defaultPrismaClientClass()
        : requirePrismaClientClass(options.client),
    prismaNamespace: options.prismaNamespace,
    url,
    systemUrl: options.systemUrl ?? env.SYSTEM_DATABASE_URL,
    log,
    tenantField: options.tenantField ?? 'workspaceId',
    tenantModels: options.tenantModels,
    tenantRootModel: options.tenantRootModel,
    identity: options.identity ?? {},
    tenantClaim: options.tenantClaim ?? 'workspaceId',
    jwt: {
      secret: options.jwt?.secret ?? env.JWT_SECRET,
      publicKey: options.jwt?.publicKey ?? env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      issuer: options.jwt?.issuer ?? env.JWT_ISSUER,
      audience: options.jwt?.audience ?? env.JWT_AUDIENCE,
      clockToleranceSeconds: options.jwt?.clockToleranceSeconds ?? 5,
    },
    verifyMembership: options.verifyMembership ?? true,
    membershipCacheTtlMs: options.membershipCacheTtlMs ?? 0,
    connectRetries: options.connectRetries ?? 5,
    connectRetryDelayMs: options.connectRetryDelayMs ?? 500,
    rlsCheck: options.rlsCheck ?? 'error',
    pool: resolvePoolOptions(options.pool),
    settingSecret: options.settingSecret ?? env.TENANT_SETTING_SECRET,
    settingMaxAgeSeconds: settingMaxAge(options.settingMaxAgeSeconds),
    sql: resolveSqlNames(options.sql),
  };
}
