import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';
import {
  isSupportedPrismaVersion,
  UnsupportedPrismaVersionError,
} from '../errors/unsupported-prisma-version.error';
import { schemaSourceOf } from './prisma-client-schema';
import { createTenantPrismaClient } from './tenant-extension';
import { buildTenantModelMap } from './tenant-models';

/** The demo's client, never connected. */
const client = () =>
  new PrismaClient({
    adapter: new PrismaPg({ connectionString: 'postgresql://unused@127.0.0.1:1/x' }),
  });

describe('schemaSourceOf', () => {
  it("reads the models from the client's runtime data model and the schema text it carries", () => {
    const source = schemaSourceOf(client());

    const item = source.models.find((m) => m.name === 'ApprovalItem');
    expect(item?.dbName).toBe('approval_items');
    expect(item?.fields.find((f) => f.name === 'workspaceId')).toMatchObject({
      kind: 'scalar',
      dbName: 'workspace_id',
    });
    expect(source.schema).toMatch(/^model ApprovalItem \{/m);
  });

  it('gives the same tenant model map as the default (@prisma/client) source', () => {
    const source = schemaSourceOf(client());
    const explicit = buildTenantModelMap({ models: source.models, schema: source.schema });
    const fallback = buildTenantModelMap();

    expect(explicit.tenantOwned).toEqual(fallback.tenantOwned);
    expect(explicit.rootModel).toBe('Workspace');
    expect(explicit.models.get('ApprovalItem')?.relations.get('workspace')).toEqual(
      fallback.models.get('ApprovalItem')?.relations.get('workspace'),
    );
  });

  // CI also runs this spec on a `prisma-client` generator client, whose Prisma namespace has no
  // dmmf: there, a client without runtime models is refused by name.
  const namespace = Prisma as { dmmf?: unknown };
  if (namespace.dmmf !== undefined) {
    it('falls back to Prisma.dmmf of the passed namespace when the client has no runtime models', () => {
      const bare = Object.assign(client(), { _runtimeDataModel: undefined });

      const source = schemaSourceOf(bare, Prisma);

      expect(source.models.map((m) => m.name)).toContain('ApprovalItem');
    });
  } else {
    it('refuses a client without runtime models when the namespace has no Prisma.dmmf (prisma-client generator)', () => {
      const bare = Object.assign(client(), { _runtimeDataModel: undefined });

      expect(() => schemaSourceOf(bare, Prisma)).toThrow(
        new InvalidPrismaModuleOptionsError(
          'The Prisma Client describes no models (no _runtimeDataModel, and no Prisma.dmmf passed): run ' +
            '`prisma generate` for a schema with models, and pass that client.',
        ),
      );
    });
  }

  it.each<[string, unknown, RegExp]>([
    ['null', null, /^The client is not a Prisma Client instance \(got null\)/],
    ['a plain object', {}, /^The client is not a Prisma Client instance \(got an object Object\)/],
    [
      'a client generated without engineType "client"',
      { $extends() {}, _clientVersion: '6.19.3', _engineConfig: { compilerWasm: undefined } },
      /add `engineType = "client"` to its generator block in schema\.prisma and run `prisma generate`/,
    ],
  ])('refuses %s with InvalidPrismaModuleOptionsError', (_, value, message) => {
    expect(() => schemaSourceOf(value)).toThrow(InvalidPrismaModuleOptionsError);
    expect(() => schemaSourceOf(value)).toThrow(message);
  });

  it.each(['5.22.0', '6.18.0', '8.0.0', '8.0.0-dev.12'])(
    'refuses a Prisma %s client with UnsupportedPrismaVersionError, naming the supported range',
    (version) => {
      const value = { $extends() {}, _clientVersion: version, _engineConfig: { compilerWasm: {} } };
      expect(() => schemaSourceOf(value)).toThrow(UnsupportedPrismaVersionError);
      expect(() => schemaSourceOf(value)).toThrow(
        `This Prisma Client is not supported by nest-prisma-tenancy (it is version ${version}). ` +
          'Install @prisma/client and prisma ^6.19.0 || ^7.0.0 (6.19.x or 7.x, the versions this ' +
          'library is tested with) and run `prisma generate`.',
      );
    },
  );

  it.each(['6.19.3', '6.20.0', '7.0.0', '7.10.0'])('accepts a Prisma %s client', (version) => {
    expect(isSupportedPrismaVersion(version)).toBe(true);
  });
});

describe('createTenantPrismaClient', () => {
  it('refuses a base that is not a Prisma Client, naming the fix', () => {
    expect(() => createTenantPrismaClient({})).toThrow(
      /^The client is not a Prisma Client instance \(got an object Object\)\. Pass your generated client class/,
    );
  });

  it('refuses a schema without the tenant field: no tenant models found', () => {
    expect(() => createTenantPrismaClient(client(), { tenantField: 'orgId' })).toThrow(
      /^No tenant models found: no model of the Prisma schema has the scalar field "orgId" \(the tenantField\)/,
    );
  });
});
