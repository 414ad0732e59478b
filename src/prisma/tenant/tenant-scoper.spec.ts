import fc from 'fast-check';
import { CrossTenantWriteError } from '../errors/cross-tenant-write.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import { buildTenantModelMap } from './tenant-models';
import { TenantScoper } from './tenant-scoper';

const A = '8b0f6f0e-2f7a-4c39-9a51-0d4c2b7e1a01';
const B = '3c9d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e02';
const ITEM = '11111111-1111-4111-8111-111111111111';
const PROJECT = '22222222-2222-4222-8222-222222222222';
const COMMENT = '33333333-3333-4333-8333-333333333333';
const USER = '44444444-4444-4444-8444-444444444444';

const tenantA = (): string => A;
const noTenant = (): string => {
  throw new Error('tenant() must not be called for this query');
};

describe('TenantScoper', () => {
  const scoper = new TenantScoper(buildTenantModelMap());
  const scope = (model: string, operation: string, args?: Record<string, unknown>) =>
    scoper.scope(model, operation, args, tenantA);

  describe('reads', () => {
    it('scopes findMany without a where to the tenant', () => {
      expect(scope('ApprovalItem', 'findMany')).toEqual({ where: { workspaceId: A } });
      expect(
        scope('ApprovalItem', 'findMany', { orderBy: { createdAt: 'desc' }, take: 10 }),
      ).toEqual({
        orderBy: { createdAt: 'desc' },
        take: 10,
        where: { workspaceId: A },
      });
    });

    it('ANDs the tenant with an existing findMany where', () => {
      expect(
        scope('ApprovalItem', 'findMany', {
          where: { status: 'PENDING', title: { contains: 'deploy' } },
        }),
      ).toEqual({
        where: { AND: [{ status: 'PENDING', title: { contains: 'deploy' } }, { workspaceId: A }] },
      });
    });

    it('ANDs the tenant into count, aggregate and groupBy', () => {
      expect(scope('Project', 'count', { where: { slug: 'p0' } })).toEqual({
        where: { AND: [{ slug: 'p0' }, { workspaceId: A }] },
      });
      expect(scope('ApprovalItem', 'aggregate', { _max: { confidence: true } })).toEqual({
        _max: { confidence: true },
        where: { workspaceId: A },
      });
      expect(scope('ApprovalItem', 'groupBy', { by: ['status'], _count: { _all: true } })).toEqual({
        by: ['status'],
        _count: { _all: true },
        where: { workspaceId: A },
      });
    });

    it('appends the tenant to the AND of a findUnique where, keeping an existing AND', () => {
      expect(scope('ApprovalItem', 'findUnique', { where: { id: ITEM } })).toEqual({
        where: { id: ITEM, AND: [{ workspaceId: A }] },
      });
      expect(
        scope('ApprovalItem', 'findUniqueOrThrow', {
          where: { id: ITEM, AND: { status: 'PENDING' } },
        }),
      ).toEqual({ where: { id: ITEM, AND: [{ status: 'PENDING' }, { workspaceId: A }] } });
      expect(
        scope('ApprovalItem', 'findUnique', {
          where: { id: ITEM, AND: [{ status: 'PENDING' }, { title: 't' }] },
        }),
      ).toEqual({
        where: { id: ITEM, AND: [{ status: 'PENDING' }, { title: 't' }, { workspaceId: A }] },
      });
    });

    it('scopes the tenant root by its id', () => {
      expect(scope('Workspace', 'findMany')).toEqual({ where: { id: A } });
      expect(scope('Workspace', 'findUnique', { where: { slug: 'acme' } })).toEqual({
        where: { slug: 'acme', AND: [{ id: A }] },
      });
    });

    it('adds the tenant to a cursor as a plain field (Prisma rejects AND in a cursor)', () => {
      expect(scope('ApprovalItem', 'findMany', { cursor: { id: ITEM }, take: 2 })).toEqual({
        cursor: { id: ITEM, workspaceId: A },
        take: 2,
        where: { workspaceId: A },
      });
    });
  });

  describe('creates', () => {
    it('fills in the tenant of unchecked create data', () => {
      expect(scope('ApprovalItem', 'create', { data: { title: 't', projectId: PROJECT } })).toEqual(
        {
          data: { title: 't', projectId: PROJECT, workspaceId: A },
        },
      );
    });

    it('keeps an explicit tenant equal to the current one and refuses another', () => {
      expect(scope('ApprovalItem', 'create', { data: { title: 't', workspaceId: A } })).toEqual({
        data: { title: 't', workspaceId: A },
      });
      expect(() =>
        scope('ApprovalItem', 'create', { data: { title: 't', workspaceId: B } }),
      ).toThrow(new CrossTenantWriteError('ApprovalItem', 'workspaceId names another workspace'));
    });

    it('connects the workspace relation when checked create data has a relation object', () => {
      expect(
        scope('ApprovalItem', 'create', {
          data: { title: 't', project: { connect: { id: PROJECT } } },
        }),
      ).toEqual({
        data: {
          title: 't',
          project: { connect: { id: PROJECT, AND: [{ workspaceId: A }] } },
          workspace: { connect: { id: A } },
        },
      });
    });

    it('refuses connecting the workspace relation to another workspace', () => {
      expect(() =>
        scope('ApprovalItem', 'create', {
          data: { title: 't', workspace: { connect: { id: B } } },
        }),
      ).toThrow(CrossTenantWriteError);
    });

    it('fills in the tenant of every createMany row', () => {
      expect(
        scope('ApprovalItem', 'createMany', {
          data: [{ title: 'a' }, { title: 'b', workspaceId: A }],
          skipDuplicates: true,
        }),
      ).toEqual({
        data: [
          { title: 'a', workspaceId: A },
          { title: 'b', workspaceId: A },
        ],
        skipDuplicates: true,
      });
      expect(scope('Project', 'createManyAndReturn', { data: { name: 'n', slug: 's' } })).toEqual({
        data: { name: 'n', slug: 's', workspaceId: A },
      });
    });

    it('refuses a createMany row of another workspace', () => {
      expect(() =>
        scope('ApprovalItem', 'createMany', {
          data: [{ title: 'a' }, { title: 'b', workspaceId: B }],
        }),
      ).toThrow(CrossTenantWriteError);
    });

    it('creates the tenant root with the current tenant id only', () => {
      expect(scope('Workspace', 'create', { data: { name: 'Acme', slug: 'acme' } })).toEqual({
        data: { name: 'Acme', slug: 'acme', id: A },
      });
      expect(() => scope('Workspace', 'create', { data: { id: B, name: 'x', slug: 'x' } })).toThrow(
        new CrossTenantWriteError('Workspace', 'id names another workspace'),
      );
    });
  });

  describe('updates, upserts and deletes', () => {
    it('scopes the where and the nested connect, updateMany and deleteMany of an update', () => {
      expect(
        scope('ApprovalItem', 'update', {
          where: { id: ITEM },
          data: {
            title: 'renamed',
            project: { connect: { id: PROJECT } },
            comments: {
              connect: [{ id: COMMENT }],
              updateMany: { where: { body: 'old' }, data: { body: 'new' } },
              deleteMany: {},
            },
          },
        }),
      ).toEqual({
        where: { id: ITEM, AND: [{ workspaceId: A }] },
        data: {
          title: 'renamed',
          project: { connect: { id: PROJECT, AND: [{ workspaceId: A }] } },
          comments: {
            connect: [{ id: COMMENT, AND: [{ workspaceId: A }] }],
            updateMany: {
              where: { AND: [{ body: 'old' }, { workspaceId: A }] },
              data: { body: 'new' },
            },
            deleteMany: { workspaceId: A },
          },
        },
      });
    });

    it('leaves the tenant of a nested create to a parent whose foreign key carries it, and scopes nested list updates by unique where', () => {
      expect(
        scope('ApprovalItem', 'update', {
          where: { id: ITEM },
          data: {
            comments: {
              create: { body: 'hi' },
              update: { where: { id: COMMENT }, data: { body: 'edited' } },
            },
          },
        }),
      ).toEqual({
        where: { id: ITEM, AND: [{ workspaceId: A }] },
        data: {
          comments: {
            create: { body: 'hi' },
            update: {
              where: { id: COMMENT, AND: [{ workspaceId: A }] },
              data: { body: 'edited' },
            },
          },
        },
      });
    });

    it('refuses an update that moves the row to another workspace', () => {
      expect(() =>
        scope('ApprovalItem', 'update', { where: { id: ITEM }, data: { workspaceId: B } }),
      ).toThrow(
        new CrossTenantWriteError(
          'ApprovalItem',
          'changing workspaceId would move the row to another workspace',
        ),
      );
      expect(() =>
        scope('ApprovalItem', 'updateMany', { data: { workspaceId: { set: B } } }),
      ).toThrow(CrossTenantWriteError);
      expect(() => scope('Workspace', 'update', { where: { id: A }, data: { id: B } })).toThrow(
        CrossTenantWriteError,
      );
    });

    it('scopes updateMany and deleteMany filters', () => {
      expect(
        scope('ApprovalItem', 'updateMany', {
          where: { status: 'PENDING' },
          data: { status: 'REJECTED' },
        }),
      ).toEqual({
        where: { AND: [{ status: 'PENDING' }, { workspaceId: A }] },
        data: { status: 'REJECTED' },
      });
      expect(scope('ApprovalItem', 'deleteMany')).toEqual({ where: { workspaceId: A } });
      expect(scope('ApprovalItem', 'delete', { where: { id: ITEM } })).toEqual({
        where: { id: ITEM, AND: [{ workspaceId: A }] },
      });
    });

    it('scopes an upsert: unique where, create filled in, update checked', () => {
      expect(
        scope('ApprovalItem', 'upsert', {
          where: { id: ITEM },
          create: { title: 'new' },
          update: { title: 'updated' },
        }),
      ).toEqual({
        where: { id: ITEM, AND: [{ workspaceId: A }] },
        create: { title: 'new', workspaceId: A },
        update: { title: 'updated' },
      });
      expect(() =>
        scope('ApprovalItem', 'upsert', {
          where: { id: ITEM },
          create: { title: 'new', workspaceId: B },
          update: {},
        }),
      ).toThrow(CrossTenantWriteError);
    });
  });

  describe('relation filters', () => {
    it('scopes some / every / none of a list relation from a global model', () => {
      expect(
        scope('User', 'findMany', { where: { memberships: { some: { role: 'OWNER' } } } }),
      ).toEqual({
        where: { memberships: { some: { AND: [{ role: 'OWNER' }, { workspaceId: A }] } } },
      });
      expect(
        scope('User', 'findMany', { where: { memberships: { every: { role: 'OWNER' } } } }),
      ).toEqual({
        where: {
          memberships: { every: { OR: [{ NOT: { workspaceId: A } }, { role: 'OWNER' }] } },
        },
      });
      expect(
        scope('User', 'findMany', { where: { memberships: { none: { role: 'OWNER' } } } }),
      ).toEqual({
        where: { memberships: { none: { AND: [{ role: 'OWNER' }, { workspaceId: A }] } } },
      });
    });

    it('scopes is / isNot and a bare to-one relation filter', () => {
      expect(
        scope('ApprovalItem', 'findMany', {
          where: { project: { is: { slug: 'p0' } }, OR: [{ project: { isNot: { slug: 'p1' } } }] },
        }),
      ).toEqual({
        where: {
          AND: [
            {
              project: { is: { AND: [{ slug: 'p0' }, { workspaceId: A }] } },
              OR: [{ project: { isNot: { AND: [{ slug: 'p1' }, { workspaceId: A }] } } }],
            },
            { workspaceId: A },
          ],
        },
      });
      expect(scope('ApprovalItem', 'count', { where: { project: { slug: 'p0' } } })).toEqual({
        where: {
          AND: [{ project: { AND: [{ slug: 'p0' }, { workspaceId: A }] } }, { workspaceId: A }],
        },
      });
    });

    it('scopes a tenant relation filter reached through a global model', () => {
      expect(
        scope('ApprovalItem', 'findMany', {
          where: { createdBy: { is: { memberships: { some: { role: 'OWNER' } } } } },
        }),
      ).toEqual({
        where: {
          AND: [
            {
              createdBy: {
                is: { memberships: { some: { AND: [{ role: 'OWNER' }, { workspaceId: A }] } } },
              },
            },
            { workspaceId: A },
          ],
        },
      });
    });
  });

  describe('include, select and _count', () => {
    it('scopes an included list relation of a global model', () => {
      expect(scope('User', 'findMany', { include: { memberships: true } })).toEqual({
        where: {},
        include: { memberships: { where: { workspaceId: A } } },
      });
      expect(
        scope('User', 'findUnique', {
          where: { id: USER },
          select: {
            email: true,
            memberships: { where: { role: 'OWNER' }, select: { workspace: true } },
          },
        }),
      ).toEqual({
        where: { id: USER },
        select: {
          email: true,
          memberships: {
            where: { AND: [{ role: 'OWNER' }, { workspaceId: A }] },
            select: { workspace: true },
          },
        },
      });
    });

    it('expands _count: true on User to per-relation counts, tenant ones scoped', () => {
      expect(scope('User', 'findMany', { include: { _count: true } })).toEqual({
        where: {},
        include: {
          _count: {
            select: {
              accounts: true,
              sessions: true,
              memberships: { where: { workspaceId: A } },
              createdItems: { where: { workspaceId: A } },
              decidedItems: { where: { workspaceId: A } },
              approvalComments: { where: { workspaceId: A } },
              auditLogs: { where: { workspaceId: A } },
            },
          },
        },
      });
    });

    it('scopes the tenant relations of a _count select', () => {
      expect(
        scope('User', 'findMany', {
          select: { _count: { select: { memberships: true, sessions: true } } },
        }),
      ).toEqual({
        where: {},
        select: {
          _count: { select: { memberships: { where: { workspaceId: A } }, sessions: true } },
        },
      });
    });
  });

  describe('global models', () => {
    it('never asks for the tenant when a query does not reach a tenant-scoped model', () => {
      expect(
        scoper.scope(
          'Session',
          'findMany',
          { where: { userId: USER }, include: { user: true } },
          noTenant,
        ),
      ).toEqual({ where: { userId: USER }, include: { user: true } });
      expect(
        scoper.scope(
          'Account',
          'create',
          { data: { userId: USER, type: 'oauth', provider: 'github', providerAccountId: '1' } },
          noTenant,
        ),
      ).toEqual({
        data: { userId: USER, type: 'oauth', provider: 'github', providerAccountId: '1' },
      });
      expect(
        scoper.scope('User', 'update', { where: { id: USER }, data: { name: 'Ada' } }, noTenant),
      ).toEqual({ where: { id: USER }, data: { name: 'Ada' } });
      expect(
        scoper.scope('VerificationToken', 'deleteMany', { where: { identifier: 'x' } }, noTenant),
      ).toEqual({ where: { identifier: 'x' } });
    });

    it('asks for the tenant as soon as a global query reaches a tenant-scoped model', () => {
      expect(() =>
        scoper.scope(
          'User',
          'findMany',
          { select: { _count: { select: { memberships: true } } } },
          noTenant,
        ),
      ).toThrow('tenant() must not be called for this query');
    });
  });

  describe('refusals', () => {
    it('refuses an operation it does not know on a tenant-scoped model', () => {
      expect(() => scope('ApprovalItem', 'findRaw', {})).toThrow(
        new UnscopableQueryError(
          'ApprovalItem',
          'findRaw',
          'the operation "findRaw" is not supported',
        ),
      );
    });

    it('throws for a model that is not in the schema', () => {
      expect(() => scope('Nope', 'findMany', {})).toThrow('Unknown Prisma model "Nope".');
    });
  });

  it('does not modify the arguments it is given', () => {
    const args = {
      where: { id: ITEM, AND: [{ status: 'PENDING' }] },
      data: { title: 't', comments: { deleteMany: {} } },
    };
    const copy = structuredClone(args);
    scope('ApprovalItem', 'update', args);
    expect(args).toEqual(copy);
  });

  describe('property: findMany where over ApprovalItem scalar fields', () => {
    const statuses = ['PENDING', 'APPROVED', 'REJECTED'] as const;
    const scalarFilter: fc.Arbitrary<Record<string, unknown>> = fc.record(
      {
        id: fc.oneof(fc.uuid(), fc.record({ in: fc.array(fc.uuid(), { maxLength: 3 }) })),
        title: fc.oneof(
          fc.string(),
          fc.record({ contains: fc.string() }),
          fc.record({ startsWith: fc.string() }),
        ),
        description: fc.oneof(fc.constant(null), fc.string()),
        status: fc.oneof(
          fc.constantFrom(...statuses),
          fc.record({ not: fc.constantFrom(...statuses) }),
        ),
        confidence: fc.oneof(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.record({ gte: fc.double({ min: 0, max: 1, noNaN: true }) }),
        ),
        projectId: fc.oneof(fc.constant(null), fc.uuid()),
        createdAt: fc.record({ lt: fc.date({ noInvalidDate: true }) }),
        // A where may name a workspace itself; the tenant is still AND-ed on top of it.
        workspaceId: fc.constantFrom(A, B),
      },
      { requiredKeys: [] },
    );
    const { where } = fc.letrec<{ where: Record<string, unknown> }>((tie) => ({
      where: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        scalarFilter,
        fc.record({ AND: fc.array(tie('where'), { maxLength: 3 }) }),
        fc.record({ OR: fc.array(tie('where'), { maxLength: 3 }) }),
        fc.record({ NOT: tie('where') }),
      ),
    }));

    it('is { AND: [original, { workspaceId: A }] }, or { workspaceId: A } for an empty where', () => {
      fc.assert(
        fc.property(where, (original) => {
          const snapshot = structuredClone(original);
          const scoped = scope('ApprovalItem', 'findMany', { where: original });
          const expected =
            Object.keys(original).length === 0
              ? { workspaceId: A }
              : { AND: [snapshot, { workspaceId: A }] };
          expect(scoped).toEqual({ where: expected });
          expect(original).toEqual(snapshot);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('the default model map', () => {
    it('knows list relations and their foreign keys', () => {
      const map = buildTenantModelMap();
      expect(map.models.get('User')?.relations.get('memberships')).toEqual({
        target: 'WorkspaceMember',
        isList: true,
        ownForeignKeys: [],
        targetForeignKeys: ['userId'],
      });
      expect(map.models.get('ApprovalItem')?.relations.get('project')).toEqual({
        target: 'Project',
        isList: false,
        ownForeignKeys: ['workspaceId', 'projectId'],
        targetForeignKeys: [],
      });
    });
  });
});
