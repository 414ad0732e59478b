import type { INestApplicationContext } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import type { PrismaClientClass, PrismaNamespaceLike } from '../core/client/prisma-client-schema';
import type { TenancySqlNamesOptions } from '../core/sql/tenancy-sql-names';
import type { NestModuleRef } from './prisma-module-options.reader';

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

/**
 * Options of the kit. Every option that PrismaModule also has defaults to the app's value: from
 * the running app (`app`, when the kit opens) or from the module that registers
 * `PrismaModule.forRoot()` (`module`, when the tests are collected); an option given here wins.
 */
export interface IsolationKitCommonOptions {
  /** Title of the generated `describe` block. Default `'tenant isolation'`. */
  name?: string;
  /**
   * The app's module that imports `PrismaModule.forRoot(...)` (e.g. `AppModule`, or
   * `AppModule.forRoot()` for a dynamic module). The kit reads that registration's options from
   * Nest's metadata, without building the module: the client class, `tenantField`, `tenantModels`,
   * `tenantRootModel`, `url`, `systemUrl`, `settingSecret` and `sql`. `describeTenantIsolation()`
   * needs it (or `client`) to list the tenant models when the tests are collected, before your
   * `beforeAll` builds the app. Not usable with `forRootAsync()`: pass `client` and the tenant
   * options then. Default: none.
   */
  module?: NestModuleRef;
  /**
   * The app's generated `PrismaClient` class (from `@prisma/client` or your generator's `output`).
   * The kit reads the schema from it and builds its own clients with it (the driver client over
   * the tenant driver, the admin client). Default: the `client` of the app's PrismaModule
   * (`app` or `module`); required otherwise (IsolationKitOptionsError).
   */
  client?: PrismaClientClass;
  /**
   * The generated `Prisma` namespace, read only when the client carries no runtime data model.
   * Default: the app's PrismaModule `prismaNamespace`; none otherwise.
   */
  prismaNamespace?: PrismaNamespaceLike;
  /**
   * The application's runtime connection (the runtime role, `app_runtime` by default). The
   * database checks use it with raw SQL, and the driver checks with an unextended client over
   * `createTenantAdapter`, so Row-Level Security is checked independently of the tenant client.
   * Default: the app's PrismaModule `url`, else DATABASE_URL when the kit opens.
   */
  runtimeUrl?: UrlSource;
  /**
   * A connection that sees every tenant (the admin role, `app_admin` by default): the kit creates
   * its fixtures and reads the real database state through it. Default: the app's PrismaModule
   * `systemUrl`, else SYSTEM_DATABASE_URL when the kit opens; required (IsolationKitOptionsError).
   */
  adminUrl?: UrlSource;
  /**
   * The secret the app under test signs the tenant setting with. The kit's database checks set the
   * tenant setting (`sql.setting`, default `app.workspace_id`) to a value signed with it, as the
   * library does, and its driver checks build their tenant adapter with it. Default: the app's
   * PrismaModule `settingSecret`, else TENANT_SETTING_SECRET when the kit opens; required
   * (MissingSettingSecretError).
   */
  settingSecret?: string;
  /**
   * The tenant-owned models to check. Default: every tenant-owned model of the schema. An empty
   * list, or a model that is not tenant-owned, is refused (NoTenantModelsError,
   * IsolationKitOptionsError).
   */
  models?: readonly string[];
  /** Name of the tenant field. Default: the app's PrismaModule `tenantField`, else `'workspaceId'`. */
  tenantField?: string;
  /**
   * The tenant-owned models as PrismaModule's `tenantModels` lists them (checked against the
   * schema the same way). Default: the app's PrismaModule `tenantModels`, else every model with
   * the tenant field.
   */
  tenantModels?: readonly string[];
  /**
   * The tenant root model. Default: the app's PrismaModule `tenantRootModel`, else `'Workspace'`
   * when the schema has it; `null` for none.
   */
  tenantRootModel?: string | null;
  /**
   * Names of the library's database objects the kit's SQL uses (the tenant setting, the
   * tenant function the policies call, the roles), as given to PrismaModule and the CLI.
   * Default: the app's PrismaModule `sql`, else the library's defaults (`DEFAULT_SQL_NAMES`).
   */
  sql?: TenancySqlNamesOptions;
  /** Timeout (ms) of each generated hook and test. Default: the framework's. */
  timeout?: number;
  /** Where `describe`/`it`/`beforeAll`/`afterAll` come from. Default: the globals. */
  framework?: TestFramework;
}

/** The kit gets the tenant client from a function (called lazily, after your `beforeAll`s). */
export interface IsolationKitClientOptions extends IsolationKitCommonOptions {
  /**
   * Returns the tenant-scoped client under test (layer 1 over layer 2). Typed as PrismaClient so
   * that any client can be handed in (a TenantPrismaClient is one).
   */
  tenantClient: () => PrismaClient;
  app?: never;
}

/**
 * The kit gets the tenant client and PrismaModule's resolved options from a Nest app, when it
 * opens: `app().get(TENANT_PRISMA_CLIENT)`, and the client class, schema, tenant options, URLs,
 * setting secret and SQL names of the app's PrismaModule (forRoot or forRootAsync).
 */
export interface IsolationKitAppOptions extends IsolationKitCommonOptions {
  /**
   * Returns the initialised Nest application (or standalone context, or `TestingModule`) that
   * imports PrismaModule.
   */
  app: () => INestApplicationContext;
  tenantClient?: never;
}

/**
 * What `isolationModelsOf()` needs to list the tenant models from the app's client class, without
 * an app or a connection.
 */
export type IsolationModelsOptions = Pick<
  IsolationKitCommonOptions,
  | 'module'
  | 'client'
  | 'prismaNamespace'
  | 'models'
  | 'tenantField'
  | 'tenantModels'
  | 'tenantRootModel'
> & { app?: unknown };

/** Options of `describeTenantIsolation()` and `TenantIsolationKit.open()`. */
export type TenantIsolationOptions = IsolationKitClientOptions | IsolationKitAppOptions;
