import fc from 'fast-check';
import { CrossTenantWriteError } from '../errors/cross-tenant-write.error';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';
import { MissingUserContextError } from '../errors/missing-user-context.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import { InvalidPrismaModuleOptionsError } from '../errors/invalid-prisma-module-options.error';
import { buildTenantModelMap, type IdentityOptions } from './tenant-models';
import { TenantScoper, type ScopeContext } from './tenant-scoper';

const A = '8b0f6f0e-2f7a-4c39-9a51-0d4c2b7e1a01';
const B = '3c9d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e02';
const ITEM = '11111111-1111-4111-8111-111111111111';
const PROJECT = '22222222-2222-4222-8222-222222222222';
const COMMENT = '33333333-3333-4333-8333-333333333333';
const USER = '44444444-4444-4444-8444-444444444444';

/** A context with this tenant and user (either may be absent). */
const context = (tenantId?: string, userId?: string): ScopeContext => ({
  tenantId: () => tenantId,
  userId: () => userId,
});
const tenantA = context(A);
/** A context that fails the test when asked for the tenant or the user. */
const noContext: ScopeContext = {
  tenantId: () => {
    throw new Error('tenantId() must not be called for this query');
  },
  userId: () => {
    throw new Error('userId() must not be called for this query');
  },
};

describe('TenantScoper', () => {
  const scoper = new TenantScoper(buildTenantModelMap());
  const scope = (model: string, operation: string, args?: Record<string, unknown>) =>
    scoper.scope(model, operation, args, tenantA);
  /** Identity scoping off: User, Account, Session and VerificationToken are plain global models. */
  const globalScoper = new TenantScoper(buildTenantModelMap({ identity: false }));
  const scopeGlobal = (model: string, operation: string, args?: Record<string, unknown>) =>
    globalScoper.scope(model, operation, args, tenantA);

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

    it('keeps the tenant as an AND beside a key that names another tenant (no row then)', () => {
      expect(
        scope('ApprovalItem', 'findUnique', {
          where: { workspaceId_id: { workspaceId: B, id: ITEM } },
        }),
      ).toEqual({
        where: { workspaceId_id: { workspaceId: B, id: ITEM }, AND: [{ workspaceId: A }] },
      });
    });

    it('puts the tenant into the (workspaceId, id) key of a findUnique where, with no extra AND (Prisma batches it)', () => {
      expect(scope('ApprovalItem', 'findUnique', { where: { id: ITEM } })).toEqual({
        where: { workspaceId_id: { workspaceId: A, id: ITEM } },
      });
      expect(
        scope('ApprovalItem', 'findUniqueOrThrow', {
          where: { id: ITEM, AND: { status: 'PENDING' } },
        }),
      ).toEqual({
        where: { workspaceId_id: { workspaceId: A, id: ITEM }, AND: { status: 'PENDING' } },
      });
      expect(
        scope('ApprovalItem', 'findUnique', {
          where: { id: ITEM, AND: [{ status: 'PENDING' }, { title: 't' }] },
        }),
      ).toEqual({
        where: {
          workspaceId_id: { workspaceId: A, id: ITEM },
          AND: [{ status: 'PENDING' }, { title: 't' }],
        },
      });
    });

    it('scopes the tenant root by its id', () => {
      expect(scope('Workspace', 'findMany')).toEqual({ where: { id: A } });
      expect(scope('Workspace', 'findUnique', { where: { slug: 'acme' } })).toEqual({
        where: { slug: 'acme', AND: [{ id: A }] },
      });
    });

    it('puts the tenant into a cursor’s (workspaceId, id) key (Prisma rejects AND in a cursor)', () => {
      expect(scope('ApprovalItem', 'findMany', { cursor: { id: ITEM }, take: 2 })).toEqual({
        cursor: { workspaceId_id: { id: ITEM, workspaceId: A } },
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
      ).toThrow(new CrossTenantWriteError('ApprovalItem', 'workspaceId names another tenant'));
    });

    it('connects the workspace relation when checked create data has a relation object', () => {
      expect(
        scope('ApprovalItem', 'create', {
          data: { title: 't', project: { connect: { id: PROJECT } } },
        }),
      ).toEqual({
        data: {
          title: 't',
          project: {
            connect: { workspaceId_id: { workspaceId: A, id: PROJECT } },
          },
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
        new CrossTenantWriteError('Workspace', 'id names another tenant'),
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
        where: { workspaceId_id: { workspaceId: A, id: ITEM } },
        data: {
          title: 'renamed',
          project: {
            connect: { workspaceId_id: { workspaceId: A, id: PROJECT } },
          },
          comments: {
            connect: [{ workspaceId_id: { workspaceId: A, id: COMMENT } }],
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
        where: { workspaceId_id: { workspaceId: A, id: ITEM } },
        data: {
          comments: {
            create: { body: 'hi' },
            update: {
              where: { workspaceId_id: { workspaceId: A, id: COMMENT } },
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
          'changing workspaceId would move the row to another tenant',
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
        where: { workspaceId_id: { workspaceId: A, id: ITEM } },
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
        where: { workspaceId_id: { workspaceId: A, id: ITEM } },
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
    it('scopes some / every / none of a list relation from a global model (identity off)', () => {
      expect(
        scopeGlobal('User', 'findMany', { where: { memberships: { some: { role: 'OWNER' } } } }),
      ).toEqual({
        where: { memberships: { some: { AND: [{ role: 'OWNER' }, { workspaceId: A }] } } },
      });
      expect(
        scopeGlobal('User', 'findMany', { where: { memberships: { every: { role: 'OWNER' } } } }),
      ).toEqual({
        where: {
          memberships: { every: { OR: [{ NOT: { workspaceId: A } }, { role: 'OWNER' }] } },
        },
      });
      expect(
        scopeGlobal('User', 'findMany', { where: { memberships: { none: { role: 'OWNER' } } } }),
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
        scopeGlobal('ApprovalItem', 'findMany', {
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
      expect(scopeGlobal('User', 'findMany', { include: { memberships: true } })).toEqual({
        where: {},
        include: { memberships: { where: { workspaceId: A } } },
      });
      expect(
        scopeGlobal('User', 'findUnique', {
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
      expect(scopeGlobal('User', 'findMany', { include: { _count: true } })).toEqual({
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
        scopeGlobal('User', 'findMany', {
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

  describe('global models (identity off)', () => {
    it('never asks for the tenant when a query does not reach a tenant-scoped model', () => {
      expect(
        globalScoper.scope(
          'Session',
          'findMany',
          { where: { userId: USER }, include: { user: true } },
          noContext,
        ),
      ).toEqual({ where: { userId: USER }, include: { user: true } });
      expect(
        globalScoper.scope(
          'Account',
          'create',
          { data: { userId: USER, type: 'oauth', provider: 'github', providerAccountId: '1' } },
          noContext,
        ),
      ).toEqual({
        data: { userId: USER, type: 'oauth', provider: 'github', providerAccountId: '1' },
      });
      expect(
        globalScoper.scope(
          'User',
          'update',
          { where: { id: USER }, data: { name: 'Ada' } },
          noContext,
        ),
      ).toEqual({ where: { id: USER }, data: { name: 'Ada' } });
      expect(
        globalScoper.scope(
          'VerificationToken',
          'deleteMany',
          { where: { identifier: 'x' } },
          noContext,
        ),
      ).toEqual({ where: { identifier: 'x' } });
    });

    it('asks for the tenant as soon as a global query reaches a tenant-scoped model', () => {
      expect(() =>
        globalScoper.scope(
          'User',
          'findMany',
          { select: { _count: { select: { memberships: true } } } },
          noContext,
        ),
      ).toThrow('tenantId() must not be called for this query');
    });
  });

  describe('identity (default options)', () => {
    const OTHER = '55555555-5555-4555-8555-555555555555';
    const both = context(A, USER);
    const userOnly = context(undefined, USER);
    const as = (
      ctx: ScopeContext,
      model: string,
      operation: string,
      args?: Record<string, unknown>,
    ) => scoper.scope(model, operation, args, ctx);
    const visible = { OR: [{ id: USER }, { memberships: { some: { workspaceId: A } } }] };
    const SECRETS = { refreshToken: true, accessToken: true, idToken: true };
    const refused = (fn: () => unknown, path: string) => {
      let error: unknown;
      try {
        fn();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UnscopableQueryError);
      expect((error as UnscopableQueryError).path).toBe(path);
    };

    describe('user reads', () => {
      it('sees the current user and the current tenant’s members', () => {
        expect(as(both, 'User', 'findMany')).toEqual({ where: visible });
        expect(as(both, 'User', 'findUnique', { where: { email: 'a@b.c' } })).toEqual({
          where: { email: 'a@b.c', AND: [visible] },
        });
        expect(as(both, 'User', 'count', { where: { name: 'Ada' } })).toEqual({
          where: { AND: [{ name: 'Ada' }, visible] },
        });
      });

      it('uses one branch when only the user or only the tenant is in context', () => {
        expect(as(userOnly, 'User', 'findMany')).toEqual({ where: { id: USER } });
        expect(as(tenantA, 'User', 'findMany')).toEqual({
          where: { memberships: { some: { workspaceId: A } } },
        });
      });

      it('refuses with MissingTenantContextError when neither is in context', () => {
        expect(() => as(context(), 'User', 'findMany')).toThrow(
          new MissingTenantContextError('User.findMany'),
        );
      });

      it('filters relation filters into User from a tenant row, and every by the visible ones', () => {
        expect(
          as(both, 'ApprovalItem', 'findMany', { where: { createdBy: { is: { name: 'Ada' } } } }),
        ).toEqual({
          where: {
            AND: [{ createdBy: { is: { AND: [{ name: 'Ada' }, visible] } } }, { workspaceId: A }],
          },
        });
      });

      it('allows a to-one include of User from a tenant row, scoping what is below it', () => {
        expect(
          as(both, 'WorkspaceMember', 'findMany', {
            include: { user: { include: { accounts: true, sessions: { select: { id: true } } } } },
          }),
        ).toEqual({
          where: { workspaceId: A },
          include: {
            user: {
              include: {
                accounts: { where: { userId: USER }, omit: SECRETS },
                sessions: { where: { userId: USER }, select: { id: true } },
              },
            },
          },
        });
      });

      it('refuses a cursor on User (it cannot carry the visibility filter)', () => {
        refused(() => as(both, 'User', 'findMany', { cursor: { id: OTHER } }), 'cursor');
      });

      it('counts only the current user’s accounts and sessions in _count', () => {
        expect(
          as(both, 'User', 'findUnique', {
            where: { id: USER },
            select: { _count: { select: { accounts: true, memberships: true } } },
          }),
        ).toEqual({
          where: { id: USER, AND: [visible] },
          select: {
            _count: {
              select: {
                accounts: { where: { userId: USER } },
                memberships: { where: { workspaceId: A } },
              },
            },
          },
        });
      });

      it('refuses ordering users by their accounts or sessions', () => {
        refused(
          () => as(both, 'User', 'findMany', { orderBy: { accounts: { _count: 'desc' } } }),
          'orderBy.accounts',
        );
      });
    });

    describe('user writes', () => {
      it('updates only the current user’s row', () => {
        expect(as(both, 'User', 'update', { where: { id: OTHER }, data: { name: 'Ada' } })).toEqual(
          { where: { id: OTHER, AND: [{ id: USER }] }, data: { name: 'Ada' } },
        );
        expect(as(both, 'User', 'updateMany', { data: { name: 'Ada' } })).toEqual({
          where: { id: USER },
          data: { name: 'Ada' },
        });
      });

      it('creates only the current user’s row, with its id', () => {
        expect(
          as(userOnly, 'User', 'createMany', {
            data: [{ id: USER, email: 'u@users.invalid' }],
            skipDuplicates: true,
          }),
        ).toEqual({ data: [{ id: USER, email: 'u@users.invalid' }], skipDuplicates: true });
        refused(() => as(both, 'User', 'create', { data: { id: OTHER, email: 'x' } }), 'create.id');
        refused(() => as(both, 'User', 'create', { data: { email: 'x' } }), 'create.id');
        refused(
          () =>
            as(both, 'User', 'upsert', {
              where: { id: OTHER },
              create: { id: OTHER, email: 'x' },
              update: {},
            }),
          'create.id',
        );
      });

      it('never deletes a user', () => {
        refused(() => as(both, 'User', 'delete', { where: { id: USER } }), 'delete');
        refused(() => as(both, 'User', 'deleteMany', {}), 'deleteMany');
      });

      it('needs the current user for a write', () => {
        expect(() =>
          as(tenantA, 'User', 'update', { where: { id: USER }, data: { name: 'x' } }),
        ).toThrow(new MissingUserContextError('User.update'));
      });
    });

    describe('primary keys never change', () => {
      it('refuses data.id on update, updateMany, upsert and nested updates, on every model', () => {
        refused(
          () => as(both, 'User', 'update', { where: { id: USER }, data: { id: OTHER } }),
          'data.id',
        );
        refused(
          () => as(both, 'ApprovalItem', 'updateMany', { data: { id: { set: OTHER } } }),
          'data.id',
        );
        refused(
          () =>
            as(both, 'ApprovalItem', 'upsert', {
              where: { id: ITEM },
              create: { title: 't' },
              update: { id: OTHER },
            }),
          'data.id',
        );
        refused(
          () =>
            as(both, 'WorkspaceMember', 'update', {
              where: { id: ITEM },
              data: { user: { update: { id: OTHER } } },
            }),
          'data.id',
        );
        refused(
          () =>
            as(both, 'Project', 'update', {
              where: { id: PROJECT },
              data: { approvalItems: { update: { where: { id: ITEM }, data: { id: OTHER } } } },
            }),
          'data.id',
        );
      });

      it('keeps CrossTenantWriteError for moving the root to another workspace id', () => {
        expect(() =>
          as(both, 'Workspace', 'update', { where: { id: A }, data: { id: B } }),
        ).toThrow(CrossTenantWriteError);
        refused(
          () => as(both, 'Workspace', 'update', { where: { id: A }, data: { id: A } }),
          'data.id',
        );
      });

      it('refuses changing the user of a membership', () => {
        refused(
          () =>
            as(both, 'WorkspaceMember', 'update', { where: { id: ITEM }, data: { userId: OTHER } }),
          'data.userId',
        );
        refused(
          () =>
            as(both, 'WorkspaceMember', 'update', {
              where: { id: ITEM },
              data: { user: { connect: { id: OTHER } } },
            }),
          'data.user',
        );
      });
    });

    describe('nested writes into User', () => {
      it('updates only the current user’s row', () => {
        expect(
          as(both, 'ApprovalItem', 'update', {
            where: { id: ITEM },
            data: { createdBy: { update: { name: 'Ada' } } },
          }),
        ).toEqual({
          where: { workspaceId_id: { workspaceId: A, id: ITEM } },
          data: { createdBy: { update: { where: { id: USER }, data: { name: 'Ada' } } } },
        });
      });

      it('connects only visible users, creates only the current one', () => {
        expect(
          as(both, 'ApprovalItem', 'update', {
            where: { id: ITEM },
            data: { createdBy: { connect: { id: OTHER } } },
          }),
        ).toEqual({
          where: { workspaceId_id: { workspaceId: A, id: ITEM } },
          data: { createdBy: { connect: { id: OTHER, AND: [visible] } } },
        });
        expect(
          as(both, 'ApprovalItem', 'update', {
            where: { id: ITEM },
            data: {
              createdBy: {
                connectOrCreate: { where: { id: USER }, create: { id: USER, email: 'x' } },
              },
            },
          }),
        ).toEqual({
          where: { workspaceId_id: { workspaceId: A, id: ITEM } },
          data: {
            createdBy: {
              connectOrCreate: {
                where: { id: USER, AND: [visible] },
                create: { id: USER, email: 'x' },
              },
            },
          },
        });
        refused(
          () =>
            as(both, 'ApprovalItem', 'update', {
              where: { id: ITEM },
              data: { createdBy: { create: { id: OTHER, email: 'x' } } },
            }),
          'create.id',
        );
      });

      it('refuses delete and upsert of a user', () => {
        for (const op of [
          { delete: true },
          { upsert: { create: { id: USER, email: 'x' }, update: {} } },
        ]) {
          refused(
            () =>
              as(both, 'ApprovalItem', 'update', { where: { id: ITEM }, data: { createdBy: op } }),
            `createdBy.${Object.keys(op)[0]}`,
          );
        }
      });
    });

    describe('user-owned models', () => {
      it('scope every operation to the current user', () => {
        expect(as(userOnly, 'Account', 'findMany')).toEqual({
          where: { userId: USER },
          omit: SECRETS,
        });
        expect(as(userOnly, 'Session', 'deleteMany', { where: { expires: { lt: 1 } } })).toEqual({
          where: { AND: [{ expires: { lt: 1 } }, { userId: USER }] },
        });
        expect(
          as(userOnly, 'Session', 'findMany', { cursor: { id: ITEM }, select: { id: true } }),
        ).toEqual({
          where: { userId: USER },
          cursor: { id: ITEM, userId: USER },
          select: { id: true },
        });
      });

      it('fill in the user on create and refuse another', () => {
        expect(
          as(userOnly, 'Account', 'create', {
            data: { type: 'oauth', provider: 'github', providerAccountId: '1', accessToken: 's' },
          }),
        ).toEqual({
          data: {
            type: 'oauth',
            provider: 'github',
            providerAccountId: '1',
            accessToken: 's',
            userId: USER,
          },
          omit: SECRETS,
        });
        refused(
          () =>
            as(userOnly, 'Session', 'create', {
              data: { userId: OTHER, sessionTokenHash: 'h', expires: new Date(0) },
            }),
          'data.userId',
        );
        refused(
          () =>
            as(userOnly, 'Session', 'create', {
              data: { user: { connect: { id: OTHER } }, sessionTokenHash: 'h', expires: 1 },
            }),
          'data.user',
        );
        refused(
          () => as(userOnly, 'Account', 'update', { where: { id: ITEM }, data: { userId: OTHER } }),
          'data.userId',
        );
      });

      it('need the current user (MissingUserContextError)', () => {
        expect(() => as(tenantA, 'Account', 'findMany')).toThrow(
          new MissingUserContextError('Account.findMany'),
        );
        expect(() => as(tenantA, 'User', 'findMany', { include: { sessions: true } })).toThrow(
          MissingUserContextError,
        );
      });

      it('are scoped when reached through a user', () => {
        expect(
          as(both, 'User', 'update', {
            where: { id: USER },
            data: {
              accounts: { connect: { id: ITEM }, deleteMany: {} },
              sessions: { create: { sessionTokenHash: 'h', expires: 1 } },
            },
          }),
        ).toEqual({
          where: { id: USER, AND: [{ id: USER }] },
          data: {
            accounts: {
              connect: { id: ITEM, AND: [{ userId: USER }] },
              deleteMany: { userId: USER },
            },
            sessions: { create: { sessionTokenHash: 'h', expires: 1 } },
          },
        });
      });
    });

    describe('system-only models', () => {
      it('refuse every operation, naming SystemPrisma.forReason', () => {
        expect(() => as(both, 'VerificationToken', 'findMany')).toThrow(
          /VerificationToken is system-only.*SystemPrisma\.forReason\('why'\)\.verificationToken/,
        );
        refused(() => as(both, 'VerificationToken', 'create', { data: {} }), 'create');
      });
    });

    describe('secret fields', () => {
      it('are omitted from results, also of writes and nested includes', () => {
        expect(as(userOnly, 'Session', 'update', { where: { id: ITEM }, data: {} })).toEqual({
          where: { id: ITEM, AND: [{ userId: USER }] },
          data: {},
          omit: { sessionTokenHash: true },
        });
        expect(
          as(userOnly, 'Account', 'findFirst', { omit: { scope: true, accessToken: true } }),
        ).toEqual({ where: { userId: USER }, omit: { scope: true, ...SECRETS } });
      });

      it('refuse being selected, un-omitted, filtered, ordered, grouped or aggregated', () => {
        const cases: [string, string, Record<string, unknown>, string][] = [
          ['Account', 'findMany', { select: { accessToken: true } }, 'select.accessToken'],
          ['Account', 'findMany', { omit: { refreshToken: false } }, 'omit.refreshToken'],
          ['Account', 'findMany', { where: { idToken: { not: null } } }, 'where.idToken'],
          ['Account', 'findMany', { where: { OR: [{ accessToken: 'x' }] } }, 'where.accessToken'],
          ['Account', 'findMany', { orderBy: [{ accessToken: 'asc' }] }, 'orderBy.accessToken'],
          ['Account', 'findMany', { distinct: ['accessToken'] }, 'distinct'],
          ['Account', 'groupBy', { by: ['refreshToken'] }, 'by'],
          ['Account', 'aggregate', { _max: { accessToken: true } }, '_max'],
          [
            'Account',
            'groupBy',
            { by: ['provider'], orderBy: { _max: { accessToken: 'asc' } } },
            'orderBy._max',
          ],
          [
            'Account',
            'groupBy',
            { by: ['provider'], having: { idToken: { not: null } } },
            'having',
          ],
          ['Session', 'findMany', { cursor: { sessionTokenHash: 'h' } }, 'cursor.sessionTokenHash'],
          ['Account', 'count', { select: { idToken: true } }, 'select'],
          ['Session', 'findUnique', { where: { sessionTokenHash: 'h' } }, 'where.sessionTokenHash'],
          [
            'User',
            'findMany',
            { where: { sessions: { some: { sessionTokenHash: 'h' } } } },
            'where.sessionTokenHash',
          ],
          [
            'User',
            'findUnique',
            { where: { id: USER }, select: { accounts: { select: { accessToken: true } } } },
            'select.accessToken',
          ],
        ];
        for (const [model, operation, args, path] of cases) {
          refused(() => as(both, model, operation, args), path);
        }
      });
    });

    describe('the model map', () => {
      it('derives the Auth.js-shaped defaults from the schema', () => {
        const { identity, models } = buildTenantModelMap();
        expect(identity).toEqual({
          userModel: 'User',
          userIdField: 'id',
          membershipModel: 'WorkspaceMember',
          membershipRelation: 'memberships',
          userField: 'userId',
          userOwned: new Map([
            ['Account', 'user'],
            ['Session', 'user'],
          ]),
          systemOnly: ['VerificationToken'],
          secretFields: new Map([
            ['Account', ['refreshToken', 'accessToken', 'idToken']],
            ['Session', ['sessionTokenHash']],
          ]),
        });
        expect(Object.fromEntries([...models.values()].map((m) => [m.name, m.kind]))).toMatchObject(
          {
            User: 'user',
            Account: 'userOwned',
            Session: 'userOwned',
            VerificationToken: 'systemOnly',
            Workspace: 'root',
            WorkspaceMember: 'tenant',
          },
        );
        expect(models.get('VerificationToken')?.idFields).toEqual(['identifier', 'tokenHash']);
      });

      it('identity: false leaves the global models global', () => {
        const { identity, models } = buildTenantModelMap({ identity: false });
        expect(identity).toBeUndefined();
        for (const name of ['User', 'Account', 'Session', 'VerificationToken']) {
          expect(models.get(name)).toMatchObject({ kind: 'global', secretFields: new Set() });
        }
      });

      it('takes explicit lists and checks them against the schema', () => {
        const { identity } = buildTenantModelMap({
          identity: {
            userOwnedModels: ['Session'],
            systemOnlyModels: ['Account', 'VerificationToken'],
            secretFields: { User: ['email'] },
          },
        });
        expect(identity?.userOwned).toEqual(new Map([['Session', 'user']]));
        expect(identity?.secretFields).toEqual(new Map([['User', ['email']]]));
        const invalid: IdentityOptions[] = [
          { userModel: 'Nope' },
          { userModel: 'Project' },
          { membershipModel: 'Project' },
          { userOwnedModels: ['ApprovalItem'] },
          { systemOnlyModels: ['User'] },
          { secretFields: { Account: ['nope'] } },
          { secretFields: { Account: ['userId'] } },
        ];
        for (const options of invalid) {
          expect(() => buildTenantModelMap({ identity: options })).toThrow(
            InvalidPrismaModuleOptionsError,
          );
        }
      });
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
