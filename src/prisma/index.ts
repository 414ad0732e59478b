// The public API of the tenancy library. Inside the library, files import each other directly.
export { PrismaModule } from './prisma.module';
export { PrismaService } from './prisma.service';
export { SystemPrisma } from './system-prisma';
export { PrismaExceptionFilter } from './prisma-exception.filter';
export { InjectSystemPrisma, InjectTenantPrisma } from './prisma.decorators';
export {
  SYSTEM_PRISMA_CLIENT,
  TENANCY_REQUIREMENT_KEY,
  TENANT_PRISMA_CLIENT,
  TENANT_SETTING,
} from './prisma.constants';
export type {
  PrismaModuleOptions,
  PrismaOptionsFactory,
  TenancyJwtOptions,
} from './interfaces/prisma-module-options.interface';
export {
  createTenantAdapter,
  createTenantPrismaClient,
  isUuid,
  runInTenant,
  tenantContext,
  tenantExtension,
  type TenantAdapterOptions,
  type TenantClientOptions,
  type TenantPoolOptions,
  type TenantPrismaClient,
  type TenantStore,
} from './tenant-extension';
export { RowLevelSecurityVerifier, tenantTables } from './row-level-security.verifier';
export type { IdentityOptions } from './tenant/tenant-models';
export type { RunInTenantOptions } from './tenant/tenant-context';
export { TenantSettingSigner, deriveSettingKey } from './tenant/tenant-setting.signer';
export { TenancyError } from './errors/tenancy.error';
export { InvalidSettingSecretError } from './errors/invalid-setting-secret.error';
export { SettingKeyMismatchError } from './errors/setting-key-mismatch.error';
export { TenantBusyError } from './errors/tenant-busy.error';
export { ConnectionStateError } from './errors/connection-state.error';
export { MissingTenantContextError } from './errors/missing-tenant-context.error';
export { MissingUserContextError } from './errors/missing-user-context.error';
export { InvalidUserIdError } from './errors/invalid-user-id.error';
export { InvalidTenantIdError } from './errors/invalid-tenant-id.error';
export { CrossTenantWriteError } from './errors/cross-tenant-write.error';
export { UnscopableQueryError } from './errors/unscopable-query.error';
export { RowLevelSecurityNotEnforcedError } from './errors/row-level-security-not-enforced.error';
export { SystemClientUnavailableError } from './errors/system-client-unavailable.error';
export { UnsupportedPrismaVersionError } from './errors/unsupported-prisma-version.error';
export { InvalidPrismaModuleOptionsError } from './prisma-options';
export { Authenticated, TenantScoped } from '../tenancy/tenant-scoped.decorator';
export { TenantGuard } from '../tenancy/tenant.guard';
export { MissingJwtKeyError, TokenVerifier, type VerifiedClaims } from '../tenancy/token-verifier';
// The generated client and its types, so that users import everything from one place.
export { Prisma, PrismaClient } from '@prisma/client';
export type * from '@prisma/client';
