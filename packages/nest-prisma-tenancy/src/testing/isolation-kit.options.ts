import type { INestApplicationContext } from '@nestjs/common';
import type { TenantPrismaClient } from '../core/client/tenant-extension';

/**
 * The parts of a test framework the kit registers tests with. Jest and Vitest (with globals)
 * provide them as globals, which is the default; pass them explicitly otherwise
 * (`framework: { describe, it, beforeAll, afterAll }` imported from `vitest`).
 */
export interface TestFramework {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeout?: number): void;
  beforeAll(fn: () => Promise<void>, timeout?: number): void;
  afterAll(fn: () => Promise<void>, timeout?: number): void;
}

/** A URL, or a function that returns it when the kit opens (after your own `beforeAll`s). */
export type UrlSource = string | (() => string);

interface IsolationKitCommonOptions {
  /** Title of the generated `describe` block. Default `'tenant isolation'`. */
  name?: string;
  /**
   * The application's runtime connection (DATABASE_URL, the role `app_runtime`). The database
   * checks use it with raw SQL, and the driver checks with an unextended PrismaClient over
   * `createTenantAdapter`, so Row-Level Security is checked independently of the tenant client.
   */
  runtimeUrl: UrlSource;
  /**
   * A connection that sees every workspace (SYSTEM_DATABASE_URL, the role `app_admin`): the kit
   * creates its fixtures and reads the real database state through it.
   */
  adminUrl: UrlSource;
  /**
   * The secret the app under test signs the tenant setting with (its `settingSecret`). The kit's
   * database checks set `app.workspace_id` to a value signed with it, as the library does, and its
   * driver checks build their tenant adapter with it. Default: `process.env.TENANT_SETTING_SECRET`
   * when the kit opens; required (MissingSettingSecretError).
   */
  settingSecret?: string;
  /** The tenant-owned models to check. Default: every tenant-owned model of the schema. */
  models?: readonly string[];
  /** Name of the tenant field. Default `'workspaceId'` (as the PrismaModule option). */
  tenantField?: string;
  /** The tenant root model. Default `'Workspace'` when the schema has it; `null` for none. */
  tenantRootModel?: string | null;
  /** Timeout (ms) of each generated hook and test. Default: the framework's. */
  timeout?: number;
  /** Where `describe`/`it`/`beforeAll`/`afterAll` come from. Default: the globals. */
  framework?: TestFramework;
}

/** The kit gets the tenant client from a function (called lazily, after your `beforeAll`s). */
export interface IsolationKitClientOptions extends IsolationKitCommonOptions {
  /** Returns the tenant-scoped client under test (layer 1 over layer 2). */
  tenantClient: () => TenantPrismaClient;
  app?: never;
}

/** The kit gets the tenant client from a Nest app: `app().get(TENANT_PRISMA_CLIENT)`. */
export interface IsolationKitAppOptions extends IsolationKitCommonOptions {
  /** Returns the initialised Nest application (or standalone context) that provides the client. */
  app: () => INestApplicationContext;
  tenantClient?: never;
}

/** Options of `describeTenantIsolation()` and `TenantIsolationKit.open()`. */
export type TenantIsolationOptions = IsolationKitClientOptions | IsolationKitAppOptions;
