import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';
import {
  isSupportedPrismaVersion,
  UnsupportedPrismaVersionError,
} from '../errors/unsupported-prisma-version.error';

/**
 * A field of the schema description the tenant client reads: the runtime data model's shape,
 * which a full DMMF field also has (`isList`, `relationFromFields`, `isId` only in the latter).
 */
export interface DataModelField {
  readonly name: string;
  readonly kind: string;
  readonly type: string;
  readonly dbName?: string | null;
  readonly relationName?: string | null;
  readonly isList?: boolean;
  readonly relationFromFields?: readonly string[];
  readonly isId?: boolean;
}

/** A model of the schema description (runtime data model or DMMF). */
export interface DataModelModel {
  readonly name: string;
  readonly dbName?: string | null;
  readonly fields: readonly DataModelField[];
  readonly primaryKey?: { readonly fields?: readonly string[] } | null;
}

/** What the tenant client needs to know about the app's schema, read from its generated client. */
export interface PrismaSchemaSource {
  models: readonly DataModelModel[];
  /** The text of the schema the client was generated from, when the client carries it. */
  schema: string | undefined;
}

/**
 * The app's generated `PrismaClient` class, from `@prisma/client` or from the generator's `output`
 * (`prisma-client-js` or `prisma-client`). Typed loosely: every generated client fits.
 */
export type PrismaClientClass = new (...args: never[]) => object;

/** The optional `Prisma` namespace of the generated client; only its `dmmf` is read, as a fallback. */
export interface PrismaNamespaceLike {
  readonly dmmf?: { readonly datamodel?: { readonly models?: readonly DataModelModel[] } };
}

/** The internals of a Prisma Client instance read here (present in Prisma 6.19 and 7). */
interface ClientInternals {
  $extends?: unknown;
  _runtimeDataModel?: {
    models?: Record<string, Omit<DataModelModel, 'name'> & { name?: string }>;
  };
  _engineConfig?: { inlineSchema?: unknown; compilerWasm?: unknown };
  _clientVersion?: unknown;
}

const FIX =
  'Pass your generated client class, e.g. `PrismaModule.forRoot({ client: PrismaClient })` with ' +
  "`import { PrismaClient } from '@prisma/client'` (or from your generator's output path).";

/**
 * Checks that `client` is a Prisma Client instance this library can drive (Prisma 6.19 or 7 with
 * the query compiler, i.e. driver adapters) and returns its schema description: the models from
 * `_runtimeDataModel`, the schema text from `_engineConfig.inlineSchema`, and `Prisma.dmmf` of
 * `prismaNamespace` only when the client carries no models.
 *
 * @throws UnsupportedPrismaVersionError for a client version outside 6.19.x-6.x and 7.x.
 * @throws InvalidPrismaModuleOptionsError naming what is wrong and how to fix it.
 */
export function schemaSourceOf(
  client: unknown,
  prismaNamespace?: PrismaNamespaceLike,
): PrismaSchemaSource {
  const internals = (client ?? {}) as ClientInternals;
  if (typeof client !== 'object' || client === null || typeof internals.$extends !== 'function') {
    throw new InvalidPrismaModuleOptionsError(
      `The client is not a Prisma Client instance (got ${describe(client)}). ${FIX}`,
    );
  }
  const version = typeof internals._clientVersion === 'string' ? internals._clientVersion : '';
  if (version && !isSupportedPrismaVersion(version)) {
    throw new UnsupportedPrismaVersionError(`it is version ${version}`);
  }
  const engine = internals._engineConfig;
  if (version.startsWith('6.') && engine !== undefined && !engine.compilerWasm) {
    throw new InvalidPrismaModuleOptionsError(
      'The Prisma Client was generated without driver adapter support (no query compiler): add ' +
        '`engineType = "client"` to its generator block in schema.prisma and run `prisma generate` ' +
        '(or use the `prisma-client` generator). The tenant pool is a driver adapter.',
    );
  }
  const runtimeModels = internals._runtimeDataModel?.models;
  const models: DataModelModel[] = runtimeModels
    ? Object.entries(runtimeModels).map(([name, model]) => ({ ...model, name }))
    : [...(prismaNamespace?.dmmf?.datamodel?.models ?? [])];
  if (models.length === 0) {
    throw new InvalidPrismaModuleOptionsError(
      'The Prisma Client describes no models (no _runtimeDataModel, and no Prisma.dmmf passed): run ' +
        '`prisma generate` for a schema with models, and pass that client.',
    );
  }
  const schema = typeof engine?.inlineSchema === 'string' ? engine.inlineSchema : undefined;
  return { models, schema };
}

/** A value as a message names it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return `an object ${value.constructor?.name ?? ''}`.trim();
  return typeof value;
}

/**
 * Checks that `client` (a module option) is a generated PrismaClient class.
 *
 * @throws InvalidPrismaModuleOptionsError when it is an instance or anything but a class.
 */
export function requirePrismaClientClass(client: unknown): PrismaClientClass {
  if (typeof client === 'function' && client.prototype !== undefined) {
    return client as PrismaClientClass;
  }
  const instance =
    typeof client === 'object' && client !== null && '$extends' in client
      ? ' It is a client instance: pass the class itself, PrismaModule builds the instance with ' +
        'the tenant driver adapter.'
      : '';
  throw new InvalidPrismaModuleOptionsError(
    `The client option must be your generated PrismaClient class (got ${describe(client)}).${instance} ${FIX}`,
  );
}

/**
 * Builds an instance of the app's client class with `options` (adapter, log), turning Prisma's
 * refusal of a driver adapter into a message that says how to regenerate the client.
 *
 * @throws InvalidPrismaModuleOptionsError when the class does not accept a driver adapter.
 */
export function instantiatePrismaClient(
  clientClass: PrismaClientClass,
  options: { adapter: unknown; log?: unknown },
): object {
  const Client = clientClass as unknown as new (options: unknown) => object;
  try {
    return new Client(options);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    if (/adapter|engineType|driverAdapters/i.test(message)) {
      throw new InvalidPrismaModuleOptionsError(
        `The Prisma Client class does not accept a driver adapter (${message.split('\n')[0]}): add ` +
          '`engineType = "client"` to its generator block in schema.prisma and run `prisma generate` ' +
          '(or use the `prisma-client` generator).',
      );
    }
    throw error;
  }
}

let defaultSource: PrismaSchemaSource | undefined;

/**
 * The default client class when none is passed: `PrismaClient` of the app's `@prisma/client`
 * (the `prisma-client-js` generator's default output).
 *
 * @throws InvalidPrismaModuleOptionsError when `@prisma/client` cannot be loaded.
 */
export function defaultPrismaClientClass(): PrismaClientClass {
  let loaded: { PrismaClient?: unknown };
  try {
    // Loaded lazily: an app that passes its own client never needs @prisma/client's default output.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('@prisma/client') as { PrismaClient?: unknown };
  } catch (error) {
    throw new InvalidPrismaModuleOptionsError(
      `No client option was given and @prisma/client could not be loaded ` +
        `(${(error as Error).message.split('\n')[0]}). ${FIX}`,
    );
  }
  return requirePrismaClientClass(loaded.PrismaClient);
}

/**
 * The schema description of the default client (`@prisma/client`), for callers that pass no
 * client (e.g. `buildTenantModelMap()` in tests). It builds, but never connects, an instance.
 */
export function defaultSchemaSource(): PrismaSchemaSource {
  if (defaultSource) return defaultSource;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PrismaPg } = require('@prisma/adapter-pg') as typeof import('@prisma/adapter-pg');
  const client = instantiatePrismaClient(defaultPrismaClientClass(), {
    adapter: new PrismaPg({ connectionString: 'postgresql://unused@127.0.0.1:1/unused' }),
  });
  defaultSource = schemaSourceOf(client);
  return defaultSource;
}
