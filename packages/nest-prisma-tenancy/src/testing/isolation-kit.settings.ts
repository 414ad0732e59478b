import type { INestApplicationContext } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  instantiatePrismaClient,
  schemaSourceOf,
  type PrismaClientClass,
  type PrismaNamespaceLike,
  type PrismaSchemaSource,
} from '../core/client/prisma-client-schema';
import type { TenantPrismaClient } from '../core/client/tenant-extension';
import { buildTenantModelMap, type TenantModelMap } from '../core/client/tenant-models';
import { InvalidPrismaModuleOptionsError } from '../core/errors/invalid-prisma-module-options.error';
import { resolveSqlNames, type TenancySqlNames } from '../core/sql/tenancy-sql-names';
import { TENANT_PRISMA_CLIENT } from '../nest/prisma.constants';
import { resolvePrismaOptions, type ResolvedPrismaOptions } from '../nest/prisma-options';
import { PrismaConnection } from '../nest/prisma.service';
import type {
  IsolationModelsOptions,
  TenantIsolationOptions,
  UrlSource,
} from './isolation-kit.options';
import { IsolationKitOptionsError } from './isolation-kit-options.error';
import { MissingSettingSecretError } from './missing-setting-secret.error';
import { NoTenantModelsError } from './no-tenant-models.error';
import { readPrismaModuleOptions } from './prisma-module-options.reader';

/** The app's PrismaModule options, as the kit found them. */
export interface AppPrismaSettings {
  /** With PrismaModule's defaults applied (environment variables included). */
  resolved: ResolvedPrismaOptions;
  /** The schema the running app read from its client, when the kit got a running app. */
  source: PrismaSchemaSource | undefined;
  /** Where they come from, as messages name it. */
  from: string;
  /** The running app's tenant client (`TENANT_PRISMA_CLIENT`), when the kit got a running app. */
  tenantClient?: () => TenantPrismaClient;
}

/** What the kit knows about the app's schema: its client, the tenant models, the ones to check. */
export interface KitSchema {
  client: PrismaClientClass;
  source: PrismaSchemaSource;
  map: TenantModelMap;
  /** The models the kit checks (the `models` option, or every tenant-owned model). */
  models: string[];
}

/** Where the kit connects, and with which secret and SQL names. */
export interface KitConnection {
  runtimeUrl: string;
  adminUrl: string;
  settingSecret: string;
  sql: TenancySqlNames;
}

const resolveUrl = (url: UrlSource): string => (typeof url === 'function' ? url() : url);

const moduleName = (ref: unknown): string =>
  typeof ref === 'function'
    ? ref.name
    : ((ref as { module?: { name?: string } } | null)?.module?.name ?? 'the module');

/** Rethrows PrismaModule's option errors as the kit's, saying where the options came from. */
function asKitError(error: unknown, from: string): never {
  if (error instanceof InvalidPrismaModuleOptionsError) {
    throw new IsolationKitOptionsError(`${error.message} (isolation kit options from ${from})`, {
      cause: error,
    });
  }
  throw error;
}

/**
 * The running app's PrismaModule options and schema, as its PrismaConnection resolved and read
 * them (forRoot or forRootAsync alike).
 *
 * @throws IsolationKitOptionsError when the app does not import PrismaModule.
 */
export function appPrismaSettings(app: INestApplicationContext | undefined): AppPrismaSettings {
  if (app === undefined || app === null) {
    throw new IsolationKitOptionsError(
      'The isolation kit got no app from app: () => app (it returned undefined): build and ' +
        'initialise the app in a beforeAll before the kit opens (the kit opens in its own ' +
        'beforeAll, after yours), and check that building it did not fail.',
    );
  }
  let connection: PrismaConnection;
  try {
    connection = app.get(PrismaConnection, { strict: false });
  } catch (error) {
    throw new IsolationKitOptionsError(
      'The app given to the isolation kit (app: () => app) has no PrismaModule: pass the ' +
        'initialised app (or TestingModule) that imports PrismaModule.forRoot()/forRootAsync() of ' +
        'this package.',
      { cause: error },
    );
  }
  return {
    resolved: connection.settings,
    source: connection.source,
    from: "the app's PrismaModule",
    tenantClient: () =>
      app.get<symbol, TenantPrismaClient>(TENANT_PRISMA_CLIENT, { strict: false }),
  };
}

/**
 * The PrismaModule options the kit works with when it has no running app: those of
 * `PrismaModule.forRoot()` in `module`, or PrismaModule's defaults, with `client` from the kit.
 *
 * @throws IsolationKitOptionsError when there is neither `module` nor `client`, or the module's
 *   PrismaModule registration cannot be read.
 */
export function staticPrismaSettings(options: IsolationModelsOptions): AppPrismaSettings {
  if (options.module === undefined && options.client === undefined) {
    throw new IsolationKitOptionsError(
      options.app !== undefined
        ? 'describeTenantIsolation() lists the tenant models when the test framework collects the ' +
          'tests, before your beforeAll builds the app, so app: () => app cannot tell it the ' +
          'client: also pass module: AppModule (the module that imports PrismaModule.forRoot()), ' +
          'or client: PrismaClient (your generated class).'
        : "The isolation kit needs the app's generated PrismaClient class: pass module: AppModule " +
          '(the module that imports PrismaModule.forRoot()) or client: PrismaClient (imported from ' +
          "'@prisma/client' or your generator's output).",
    );
  }
  // With an explicit client, a forRootAsync() registration is skipped: the kit's options stand in.
  const registered =
    options.module === undefined
      ? undefined
      : readPrismaModuleOptions(options.module, options.client === undefined ? 'throw' : 'skip');
  const raw = registered ?? {};
  const from =
    registered === undefined
      ? "the kit's options"
      : `the PrismaModule.forRoot() options of ${moduleName(options.module)}`;
  try {
    return {
      resolved: resolvePrismaOptions({ ...raw, client: options.client ?? raw.client }),
      source: undefined,
      from,
    };
  } catch (error) {
    return asKitError(error, from);
  }
}

const sources = new WeakMap<PrismaClientClass, PrismaSchemaSource>();

/** The schema of a client class, read from an instance that never connects. */
function schemaOfClass(
  client: PrismaClientClass,
  prismaNamespace: PrismaNamespaceLike | undefined,
): PrismaSchemaSource {
  const cached = prismaNamespace === undefined ? sources.get(client) : undefined;
  if (cached) return cached;
  const instance = instantiatePrismaClient(client, {
    adapter: new PrismaPg({ connectionString: 'postgresql://unused@127.0.0.1:1/unused' }),
  });
  const source = schemaSourceOf(instance, prismaNamespace);
  if (prismaNamespace === undefined) sources.set(client, source);
  return source;
}

/**
 * Reads the app's schema from its client and resolves the tenant models the kit checks, as
 * PrismaModule resolves them (`buildTenantModelMap`), with the kit's options over the app's.
 *
 * @throws NoTenantModelsError when no model is tenant-owned, or `models` is empty.
 * @throws IsolationKitOptionsError when an option names a model or field the schema lacks.
 */
export function resolveKitSchema(
  options: IsolationModelsOptions,
  settings: AppPrismaSettings,
): KitSchema {
  const { resolved, from } = settings;
  const client = options.client ?? resolved.client;
  let source: PrismaSchemaSource;
  try {
    source =
      options.client === undefined && options.prismaNamespace === undefined && settings.source
        ? settings.source
        : schemaOfClass(client, options.prismaNamespace ?? resolved.prismaNamespace);
  } catch (error) {
    return asKitError(error, from);
  }
  const tenantField = options.tenantField ?? resolved.tenantField;
  const tenantModels = options.tenantModels ?? resolved.tenantModels;
  const rootModel =
    options.tenantRootModel !== undefined ? options.tenantRootModel : resolved.tenantRootModel;
  const origin = (option: keyof IsolationModelsOptions) =>
    options[option] !== undefined ? "the kit's option" : from;
  const names = source.models.map((m) => m.name);

  const withField = source.models.filter((m) =>
    m.fields.some((f) => f.name === tenantField && f.kind === 'scalar'),
  );
  if (tenantModels === undefined && withField.length === 0) {
    throw new NoTenantModelsError(
      `no model of the app's Prisma schema (${names.join(', ')}) has the scalar field ` +
        `"${tenantField}" (tenantField, from ${origin('tenantField')}).`,
    );
  }
  if (tenantModels !== undefined && tenantModels.length === 0) {
    throw new NoTenantModelsError(`tenantModels (from ${origin('tenantModels')}) is empty.`);
  }
  let map: TenantModelMap;
  try {
    map = buildTenantModelMap({
      tenantField,
      tenantOwned: tenantModels,
      rootModel,
      models: source.models,
      schema: source.schema,
      identity: false,
    });
  } catch (error) {
    return asKitError(error, from);
  }
  if (options.models !== undefined && options.models.length === 0) {
    throw new NoTenantModelsError(
      'models is an empty list: leave it out to check every tenant-owned model.',
    );
  }
  for (const model of options.models ?? []) {
    if (!names.includes(model)) {
      throw new IsolationKitOptionsError(
        `The isolation kit's models option names "${model}", which is not a model of the app's ` +
          `Prisma schema (${names.join(', ')}).`,
      );
    }
    if (!map.tenantOwned.includes(model)) {
      throw new IsolationKitOptionsError(
        `The isolation kit's models option names "${model}", which is not tenant-owned (it has no ` +
          `"${map.tenantField}" field); tenant-owned: ${map.tenantOwned.join(', ')}.`,
      );
    }
  }
  return { client, source, map, models: [...(options.models ?? map.tenantOwned)] };
}

/**
 * The kit's connections, secret and SQL names, with the kit's options over the app's.
 *
 * @throws MissingSettingSecretError when no setting secret is found.
 * @throws IsolationKitOptionsError when no URL is found, or an SQL name is invalid.
 */
export function resolveKitConnection(
  options: TenantIsolationOptions,
  settings: AppPrismaSettings,
): KitConnection {
  const { resolved } = settings;
  let sql: TenancySqlNames;
  try {
    sql = options.sql === undefined ? resolved.sql : resolveSqlNames(options.sql);
  } catch (error) {
    return asKitError(error, "the kit's sql option");
  }
  const settingSecret = options.settingSecret ?? resolved.settingSecret;
  if (!settingSecret) throw new MissingSettingSecretError(sql);
  const runtimeUrl =
    options.runtimeUrl !== undefined ? resolveUrl(options.runtimeUrl) : resolved.url;
  if (!runtimeUrl) {
    throw new IsolationKitOptionsError(
      `The isolation kit has no runtime connection (as ${sql.runtimeRole}): pass runtimeUrl, or ` +
        'set url in PrismaModule.forRoot() or DATABASE_URL.',
    );
  }
  const adminUrl =
    options.adminUrl !== undefined ? resolveUrl(options.adminUrl) : resolved.systemUrl;
  if (!adminUrl) {
    throw new IsolationKitOptionsError(
      `The isolation kit needs a connection that sees every tenant (as ${sql.adminRole}) for its ` +
        'fixtures: pass adminUrl, or set systemUrl in PrismaModule.forRoot() or SYSTEM_DATABASE_URL.',
    );
  }
  return { runtimeUrl, adminUrl, settingSecret, sql };
}
