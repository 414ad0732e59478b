// The public API of the tenant isolation test kit (import it from test code only).
export {
  describeTenantIsolation,
  isolationModelsOf,
  TenantIsolationKit,
  type CheckResult,
  type FixtureRow,
  type KitPrismaClient,
  type ModelDelegate,
  type ModelFixture,
} from './isolation-kit';
export {
  ISOLATION_CHECKS,
  type IsolationCheck,
  type IsolationLayer,
  type Row,
} from './isolation.checks';
export type {
  IsolationKitAppOptions,
  IsolationKitClientOptions,
  IsolationKitCommonOptions,
  IsolationModelsOptions,
  TenantIsolationOptions,
  TestFramework,
  UrlSource,
} from './isolation-kit.options';
export type { NestModuleRef } from './prisma-module-options.reader';
export { IsolationKitOptionsError } from './isolation-kit-options.error';
export { IsolationViolationError } from './isolation-violation.error';
export { MissingSettingSecretError } from './missing-setting-secret.error';
export { NoTenantModelsError } from './no-tenant-models.error';
export { SettingNotAcceptedError } from './setting-not-accepted.error';
export type { TenantModelInfo } from './tenant-schema.catalog';
