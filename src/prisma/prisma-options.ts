import type { Prisma } from '@prisma/client';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';

/** PrismaModuleOptions with every default applied. */
export type ResolvedPrismaOptions = Required<
  Omit<
    PrismaModuleOptions,
    'url' | 'systemUrl' | 'tenantModels' | 'tenantRootModel' | 'jwt' | 'pool'
  >
> & {
  url: string;
  systemUrl: string | undefined;
  tenantModels: string[] | undefined;
  tenantRootModel: string | null | undefined;
  jwt: Required<Pick<NonNullable<PrismaModuleOptions['jwt']>, 'clockToleranceSeconds'>> &
    Omit<NonNullable<PrismaModuleOptions['jwt']>, 'clockToleranceSeconds'>;
  pool: Required<NonNullable<PrismaModuleOptions['pool']>>;
};

/** Thrown when PrismaModule options are unusable, naming the option and how to fix it. */
export class InvalidPrismaModuleOptionsError extends Error {
  override name = 'InvalidPrismaModuleOptionsError';
}

/** Applies the documented defaults (environment variables included) to PrismaModule options. */
export function resolvePrismaOptions(
  options: PrismaModuleOptions,
  env = process.env,
): ResolvedPrismaOptions {
  const url = options.url ?? env.DATABASE_URL;
  if (!url) {
    throw new InvalidPrismaModuleOptionsError(
      'PrismaModule has no connection URL: pass { url } to PrismaModule.forRoot()/forRootAsync() or set ' +
        'DATABASE_URL, e.g. DATABASE_URL=postgresql://app_runtime:secret@localhost:6432/app',
    );
  }
  const development = (env.NODE_ENV ?? 'development') === 'development';
  const log: Prisma.LogLevel[] =
    options.log ?? (development ? ['query', 'error', 'warn'] : ['error', 'warn']);
  return {
    url,
    systemUrl: options.systemUrl ?? env.SYSTEM_DATABASE_URL,
    log,
    tenantField: options.tenantField ?? 'workspaceId',
    tenantModels: options.tenantModels,
    tenantRootModel: options.tenantRootModel,
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
    pool: {
      max: options.pool?.max ?? 10,
      connectionTimeoutMillis: options.pool?.connectionTimeoutMillis ?? 5000,
      idleTimeoutMillis: options.pool?.idleTimeoutMillis ?? 10_000,
      queryTimeoutMillis: options.pool?.queryTimeoutMillis ?? 15_000,
    },
  };
}
