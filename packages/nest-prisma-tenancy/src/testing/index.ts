// The public API of the tenant isolation test kit (import it from test code only).
export {
  describeTenantIsolation,
  TenantIsolationKit,
  type CheckResult,
  type FixtureRow,
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
  TenantIsolationOptions,
  TestFramework,
  UrlSource,
} from './isolation-kit.options';
export { IsolationViolationError } from './isolation-violation.error';
export { MissingSettingSecretError } from './missing-setting-secret.error';
export { SettingNotAcceptedError } from './setting-not-accepted.error';
export type { TenantModelInfo } from './tenant-schema.catalog';
