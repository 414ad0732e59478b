// The public API of the tenancy library. Inside the library, files import each other directly.
export { PrismaModule } from './nest/prisma.module';
export {
  PrismaConnection,
  PrismaService,
  UnscopedPrismaService,
  type PrismaServiceExtras,
} from './nest/prisma.service';
export { SystemPrisma } from './nest/system-prisma';
export { PrismaExceptionFilter } from './nest/prisma-exception.filter';
export {
  InjectSystemPrisma,
  InjectTenantPrisma,
  InjectUnscopedPrisma,
} from './nest/prisma.decorators';
export {
  SYSTEM_PRISMA_CLIENT,
  TENANCY_REQUIREMENT_KEY,
  TENANT_PRISMA_CLIENT,
  TENANT_SETTING,
} from './nest/prisma.constants';
export type {
  PrismaLogLevel,
  PrismaModuleOptions,
  PrismaOptionsFactory,
  TenancyJwtOptions,
} from './nest/interfaces/prisma-module-options.interface';
export {
  createTenantAdapter,
  createTenantPrismaClient,
  isUuid,
  runInTenant,
  tenantContext,
  tenantExtension,
  type TenantAdapterOptions,
  type TenantClientOptions,
  type TenantExtension,
  type TenantPoolOptions,
  type TenantPrismaClient,
  type TenantStore,
} from './core/client/tenant-extension';
export type { TenantScopedClient } from './core/client/tenant-client.types';
export {
  RowLevelSecurityVerifier,
  tenantTables,
  type RowLevelSecurityReport,
} from './core/rls/row-level-security.verifier';
export type { IdentityOptions } from './core/client/tenant-models';
export {
  schemaSourceOf,
  type PrismaClientClass,
  type PrismaNamespaceLike,
  type PrismaSchemaSource,
} from './core/client/prisma-client-schema';
export type { RunInTenantOptions } from './core/context/tenant-context';
export { installSettingKey, type SettingKeyOutcome } from './core/driver/setting-key.installer';
export { TenantSettingSigner, deriveSettingKey } from './core/driver/tenant-setting.signer';
export { TenancyError } from './core/errors/tenancy.error';
export {
  connectionFailureReason,
  DatabaseUnreachableError,
  describeTarget,
  isConnectionFailure,
} from './core/errors/database-unreachable.error';
export { InvalidSettingSecretError } from './core/errors/invalid-setting-secret.error';
export { SettingKeyMismatchError } from './core/errors/setting-key-mismatch.error';
export { SqlNamesMismatchError } from './core/errors/sql-names-mismatch.error';
export {
  DEFAULT_SQL_NAMES,
  resolveSqlNames,
  type TenancySqlNames,
  type TenancySqlNamesOptions,
} from './core/sql/tenancy-sql-names';
export { readDatabaseSqlNames, type SqlNameMismatch } from './core/sql/tenancy-sql-names.check';
export { TenantBusyError } from './core/errors/tenant-busy.error';
export { TenantMembershipDeniedError } from './core/errors/tenant-membership-denied.error';
export { ConnectionStateError } from './core/errors/connection-state.error';
export { MissingTenantContextError } from './core/errors/missing-tenant-context.error';
export { MissingUserContextError } from './core/errors/missing-user-context.error';
export { InvalidUserIdError } from './core/errors/invalid-user-id.error';
export { InvalidTenantIdError } from './core/errors/invalid-tenant-id.error';
export { CrossTenantWriteError } from './core/errors/cross-tenant-write.error';
export { UnscopableQueryError } from './core/errors/unscopable-query.error';
export { RowLevelSecurityNotEnforcedError } from './core/errors/row-level-security-not-enforced.error';
export { SystemClientUnavailableError } from './core/errors/system-client-unavailable.error';
export { UnsupportedPrismaVersionError } from './core/errors/unsupported-prisma-version.error';
export { InvalidPrismaModuleOptionsError } from './nest/prisma-options';
export { Authenticated, TenantScoped } from './nest/tenancy/tenant-scoped.decorator';
export { TenantGuard } from './nest/tenancy/tenant.guard';
export {
  MissingJwtKeyError,
  TokenVerifier,
  type VerifiedClaims,
} from './nest/tenancy/token-verifier';
export { TenantInterceptor } from './nest/tenancy/tenant.interceptor';
export { RequestContextNotMountedError } from './nest/tenancy/request-context.check';
export type {
  MembershipCallback,
  MembershipCheckContext,
  MembershipModelOptions,
  RequestIdentity,
  RequestIdentityResolver,
  TenancyAuthOptions,
  TenancyAuthSourceOptions,
} from './nest/interfaces/tenancy-auth-options.interface';
// The types of `@prisma/client`'s generated client (the default `client`), so that users of that
// default import model types from one place. Types only: the library never loads a generated client
// unless PrismaModule is given none; import `PrismaClient` and `Prisma` from your generated client.
export type * from '@prisma/client';
