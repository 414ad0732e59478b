import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient, type ApprovalStatus, type WorkspaceRole } from '@prisma/client';
import { CrossTenantWriteError } from '../errors/cross-tenant-write.error';
import { InvalidTenantIdError } from '../errors/invalid-tenant-id.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  type TenantPrismaClient,
} from './tenant-extension';
import { runWithTenantOrNone } from '../context/tenant-context';

/**
 * `{ id }` where Prisma's types want the `(workspaceId, id)` key: layer 1 supplies the tenant in
 * nested unique inputs too, but TenantScopedClient types only the top-level `where` and `cursor`.
 */
const nestedId = (id: string) => ({ id }) as never;

/**
 * The tenant client against the real database, operation by operation, with two workspaces A and
 * B that each have projects, an AI provider config, approval items, comments and members.
 *
 * `db` is the client as applications get it (layer 1, the argument scoper, over layer 2, Row-Level
 * Security). `layer1` is the same extension over the app_admin connection, which RLS does not
 * restrict, so what it isolates is isolated by layer 1 alone. `base` is the unextended client over
 * the tenant driver: layer 2 alone. `admin` creates fixtures and reads the real state.
 */

interface TenantFixture {
  id: string;
  projectIds: string[];
  configIds: string[];
  /** [0]: project 0, [1]: project 1, [2]: no project. */
  itemIds: string[];
  /** Both on item 0. */
  commentIds: string[];
  memberIds: string[];
}

interface Member {
  userId: string;
  role: WorkspaceRole;
}

/** The major version of the Prisma Client under test (CI runs these specs on 6.19 and 7). */
const PRISMA_MAJOR = Number(Prisma.prismaVersion.client.split('.')[0]);

const sorted = (ids: readonly string[]): string[] => [...ids].sort();
const idsOf = (rows: readonly { id: string }[]): string[] => sorted(rows.map((row) => row.id));

describe('tenant client (createTenantPrismaClient over createTenantAdapter)', () => {
  let base: PrismaClient;
  let db: TenantPrismaClient;
  let layer1Base: PrismaClient;
  let layer1: TenantPrismaClient;
  let admin: PrismaClient;

  /** Users shared by the fixtures: U1 OWNER in A + MEMBER in B, U2 MEMBER in A + OWNER in B,
   * U3 OWNER in B only, U4 VIEWER in A only. */
  const users = { u1: '', u2: '', u3: '', u4: '' };
  let A: TenantFixture;
  let B: TenantFixture;

  async function seedTenant(
    label: string,
    items: { status: ApprovalStatus; confidence: number | null }[],
    members: Member[],
  ): Promise<TenantFixture> {
    const id = randomUUID();
    const projectIds = [randomUUID(), randomUUID()];
    const configIds = [randomUUID()];
    const itemIds = items.map(() => randomUUID());
    const commentIds = [randomUUID(), randomUUID()];
    const memberIds = members.map(() => randomUUID());
    await admin.workspace.create({
      data: { id, name: `Workspace ${label}`, slug: `${label.toLowerCase()}-${id}` },
    });
    await admin.project.createMany({
      data: projectIds.map((projectId, n) => ({
        id: projectId,
        workspaceId: id,
        name: `${label} project ${n}`,
        slug: `p${n}`,
      })),
    });
    await admin.aIProviderConfig.create({
      data: {
        id: configIds[0],
        workspaceId: id,
        provider: 'OPENAI',
        name: `${label} config`,
        encryptedCredential: 'ciphertext',
        defaultModel: 'gpt-4o',
      },
    });
    await admin.approvalItem.createMany({
      data: items.map((item, n) => ({
        id: itemIds[n],
        workspaceId: id,
        projectId: projectIds[n] ?? null,
        aiProviderConfigId: configIds[0],
        title: `${label} item ${n}`,
        ...item,
      })),
    });
    await admin.approvalComment.createMany({
      data: commentIds.map((commentId, n) => ({
        id: commentId,
        workspaceId: id,
        approvalItemId: itemIds[0],
        body: `${label} comment ${n}`,
      })),
    });
    await admin.workspaceMember.createMany({
      data: members.map((member, n) => ({ id: memberIds[n], workspaceId: id, ...member })),
    });
    return { id, projectIds, configIds, itemIds, commentIds, memberIds };
  }

  /** Two fresh workspaces, for tests that write. */
  async function seedPair(): Promise<[TenantFixture, TenantFixture]> {
    return [
      await seedTenant('A', itemsA, [{ userId: users.u1, role: 'OWNER' }]),
      await seedTenant('B', itemsB, [{ userId: users.u1, role: 'MEMBER' }]),
    ];
  }

  const itemsA = [
    { status: 'PENDING', confidence: 0.25 },
    { status: 'APPROVED', confidence: 0.75 },
    { status: 'PENDING', confidence: null },
  ] satisfies { status: ApprovalStatus; confidence: number | null }[];
  const itemsB = [
    { status: 'PENDING', confidence: 0.1 },
    { status: 'APPROVED', confidence: 0.9 },
    { status: 'REJECTED', confidence: null },
  ] satisfies { status: ApprovalStatus; confidence: number | null }[];

  /** Every tenant-owned row of a workspace, read with the admin client. */
  async function stateOf(workspaceId: string) {
    const where = { workspaceId };
    const orderBy = { id: 'asc' } as const;
    const [workspace, projects, configs, items, comments, members] = await Promise.all([
      admin.workspace.findUnique({ where: { id: workspaceId } }),
      admin.project.findMany({ where, orderBy }),
      admin.aIProviderConfig.findMany({ where, orderBy }),
      admin.approvalItem.findMany({ where, orderBy }),
      admin.approvalComment.findMany({ where, orderBy }),
      admin.workspaceMember.findMany({ where, orderBy }),
    ]);
    return { workspace, projects, configs, items, comments, members };
  }

  beforeAll(async () => {
    base = new PrismaClient({ adapter: createTenantAdapter(process.env.DATABASE_URL!) });
    db = createTenantPrismaClient(base);
    layer1Base = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }),
    });
    layer1 = createTenantPrismaClient(layer1Base);
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }),
    });

    const run = randomUUID();
    for (const key of Object.keys(users) as (keyof typeof users)[]) {
      users[key] = (await admin.user.create({ data: { email: `${key}-${run}@example.test` } })).id;
    }
    A = await seedTenant('A', itemsA, [
      { userId: users.u1, role: 'OWNER' },
      { userId: users.u2, role: 'MEMBER' },
      { userId: users.u4, role: 'VIEWER' },
    ]);
    B = await seedTenant('B', itemsB, [
      { userId: users.u1, role: 'MEMBER' },
      { userId: users.u2, role: 'OWNER' },
      { userId: users.u3, role: 'OWNER' },
    ]);
  });

  afterAll(async () => {
    await Promise.all([base.$disconnect(), layer1Base.$disconnect(), admin.$disconnect()]);
  });

  const inA = <T>(fn: () => T | Promise<T>): Promise<T> => runInTenant(A.id, fn);
  const fourUsers = () => ({ id: { in: Object.values(users) } });

  describe('without a tenant in context', () => {
    const operations: [string, (c: TenantPrismaClient) => Promise<unknown>][] = [
      ['ApprovalItem.findMany', (c) => c.approvalItem.findMany()],
      ['ApprovalItem.findFirst', (c) => c.approvalItem.findFirst()],
      ['ApprovalItem.findFirstOrThrow', (c) => c.approvalItem.findFirstOrThrow()],
      [
        'ApprovalItem.findUnique',
        (c) => c.approvalItem.findUnique({ where: { id: A.itemIds[0] } }),
      ],
      [
        'ApprovalItem.findUniqueOrThrow',
        (c) => c.approvalItem.findUniqueOrThrow({ where: { id: A.itemIds[0] } }),
      ],
      ['ApprovalItem.count', (c) => c.approvalItem.count()],
      ['ApprovalItem.aggregate', (c) => c.approvalItem.aggregate({ _count: { _all: true } })],
      ['ApprovalItem.groupBy', (c) => c.approvalItem.groupBy({ by: ['status'], _count: true })],
      ['ApprovalItem.create', (c) => c.approvalItem.create({ data: { title: 'no tenant' } })],
      [
        'ApprovalItem.createMany',
        (c) => c.approvalItem.createMany({ data: [{ title: 'no tenant' }] }),
      ],
      [
        'ApprovalItem.createManyAndReturn',
        (c) => c.approvalItem.createManyAndReturn({ data: [{ title: 'no tenant' }] }),
      ],
      [
        'ApprovalItem.update',
        (c) => c.approvalItem.update({ where: { id: A.itemIds[0] }, data: { title: 'no tenant' } }),
      ],
      [
        'ApprovalItem.updateMany',
        (c) => c.approvalItem.updateMany({ data: { title: 'no tenant' } }),
      ],
      [
        'ApprovalItem.updateManyAndReturn',
        (c) => c.approvalItem.updateManyAndReturn({ data: { title: 'no tenant' } }),
      ],
      [
        'ApprovalItem.upsert',
        (c) =>
          c.approvalItem.upsert({
            where: { id: A.itemIds[0] },
            create: { title: 'no tenant' },
            update: { title: 'no tenant' },
          }),
      ],
      ['ApprovalItem.delete', (c) => c.approvalItem.delete({ where: { id: A.itemIds[0] } })],
      ['ApprovalItem.deleteMany', (c) => c.approvalItem.deleteMany()],
      [
        'Project.create',
        (c) => c.project.create({ data: { name: 'no tenant', slug: 'no-tenant' } }),
      ],
      ['Project.findMany', (c) => c.project.findMany()],
      ['ApprovalComment.deleteMany', (c) => c.approvalComment.deleteMany()],
      ['WorkspaceMember.findMany', (c) => c.workspaceMember.findMany()],
      [
        'AIProviderConfig.updateMany',
        (c) => c.aIProviderConfig.updateMany({ data: { name: 'x' } }),
      ],
      ['Workspace.findMany', (c) => c.workspace.findMany()],
      ['Workspace.update', (c) => c.workspace.update({ where: { id: A.id }, data: { name: 'x' } })],
      [
        'User.findMany',
        (c) => c.user.findMany({ select: { _count: { select: { memberships: true } } } }),
      ],
      ['$queryRaw', (c) => c.$queryRaw`SELECT count(*)::int AS n FROM approval_items`],
      ['$executeRaw', (c) => c.$executeRaw`UPDATE approval_items SET title = title`],
    ];

    it.each(operations)(
      'rejects %s with MissingTenantContextError and writes nothing',
      async (target, operation) => {
        const before = [await stateOf(A.id), await stateOf(B.id)];

        const attempt = operation(db);

        await expect(attempt).rejects.toBeInstanceOf(MissingTenantContextError);
        await expect(attempt).rejects.toMatchObject({ name: 'MissingTenantContextError', target });
        expect([await stateOf(A.id), await stateOf(B.id)]).toEqual(before);
      },
    );

    it('rejects a global-model query that includes a tenant relation with MissingTenantContextError', async () => {
      await expect(db.user.findMany({ include: { memberships: true } })).rejects.toMatchObject({
        name: 'MissingTenantContextError',
        target: 'User.findMany',
      });
    });

    it('rejects even an empty createMany (nothing to write, but no tenant)', async () => {
      await expect(db.approvalItem.createMany({ data: [] })).rejects.toBeInstanceOf(
        MissingTenantContextError,
      );
    });

    it('runs a User query with a user but no tenant (the user’s own row only), none without either', async () => {
      const asU1 = <T>(fn: () => Promise<T>) =>
        runWithTenantOrNone(undefined, async () => await fn(), users.u1);
      await expect(
        asU1(() => db.user.findUnique({ where: { id: users.u1 }, select: { id: true } })),
      ).resolves.toEqual({ id: users.u1 });
      await expect(asU1(() => db.user.count({ where: fourUsers() }))).resolves.toBe(1);
      await expect(db.user.count({ where: fourUsers() })).rejects.toBeInstanceOf(
        MissingTenantContextError,
      );
    });

    it('rejects runInTenant with a tenant id that is not a UUID, without running the callback', async () => {
      const callback = jest.fn();

      await expect(runInTenant('not-a-uuid', callback)).rejects.toThrow(
        new InvalidTenantIdError('not-a-uuid'),
      );
      await expect(runInTenant('not-a-uuid', callback)).rejects.toBeInstanceOf(
        InvalidTenantIdError,
      );
      expect(callback).not.toHaveBeenCalled();
    });
  });

  describe('reads in workspace A', () => {
    const models: [string, (c: PrismaClient) => Promise<{ id: string }[]>, () => string[]][] = [
      ['approvalItem', (c) => c.approvalItem.findMany({ select: { id: true } }), () => A.itemIds],
      ['project', (c) => c.project.findMany({ select: { id: true } }), () => A.projectIds],
      [
        'approvalComment',
        (c) => c.approvalComment.findMany({ select: { id: true } }),
        () => A.commentIds,
      ],
      [
        'workspaceMember',
        (c) => c.workspaceMember.findMany({ select: { id: true } }),
        () => A.memberIds,
      ],
      [
        'aIProviderConfig',
        (c) => c.aIProviderConfig.findMany({ select: { id: true } }),
        () => A.configIds,
      ],
      ['workspace', (c) => c.workspace.findMany({ select: { id: true } }), () => [A.id]],
    ];

    it.each(models)('%s.findMany returns exactly A’s rows', async (_model, findMany, expected) => {
      expect(idsOf(await inA(() => findMany(db)))).toEqual(sorted(expected()));
    });

    it('findFirst picks among A’s rows only', async () => {
      await expect(
        inA(() =>
          db.approvalItem.findFirst({ orderBy: { title: 'desc' }, select: { title: true } }),
        ),
      ).resolves.toEqual({ title: 'A item 2' });
      await expect(
        inA(() => db.approvalItem.findFirst({ where: { title: 'B item 0' } })),
      ).resolves.toBeNull();
    });

    it('findFirstOrThrow of B’s row rejects with P2025', async () => {
      const attempt = inA(() => db.approvalItem.findFirstOrThrow({ where: { id: B.itemIds[0] } }));

      await expect(attempt).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      await expect(attempt).rejects.toMatchObject({
        code: 'P2025',
        meta: { modelName: 'ApprovalItem', operation: 'a query' },
      });
    });

    it('findUnique returns A’s row and null for B’s id', async () => {
      await expect(
        inA(() =>
          db.approvalItem.findUnique({ where: { id: A.itemIds[0] }, select: { id: true } }),
        ),
      ).resolves.toEqual({ id: A.itemIds[0] });
      await expect(
        inA(() => db.approvalItem.findUnique({ where: { id: B.itemIds[0] } })),
      ).resolves.toBeNull();
      await expect(
        inA(() =>
          db.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: B.id, id: B.itemIds[0] } },
          }),
        ),
      ).resolves.toBeNull();
      await expect(inA(() => db.workspace.findUnique({ where: { id: B.id } }))).resolves.toBeNull();
    });

    it('findUniqueOrThrow of B’s id rejects with P2025', async () => {
      const attempt = inA(() => db.approvalItem.findUniqueOrThrow({ where: { id: B.itemIds[0] } }));

      await expect(attempt).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      await expect(attempt).rejects.toMatchObject({
        code: 'P2025',
        meta: { modelName: 'ApprovalItem', operation: 'a query' },
      });
    });

    it('count, aggregate and groupBy see A’s rows only', async () => {
      await expect(inA(() => db.approvalItem.count())).resolves.toBe(3);
      await expect(
        inA(() => db.approvalItem.count({ where: { status: 'REJECTED' } })),
      ).resolves.toBe(0);
      await expect(
        inA(() =>
          db.approvalItem.aggregate({
            _count: { _all: true },
            _min: { confidence: true },
            _max: { confidence: true },
          }),
        ),
      ).resolves.toEqual({
        _count: { _all: 3 },
        _min: { confidence: 0.25 },
        _max: { confidence: 0.75 },
      });
      await expect(
        inA(() =>
          db.approvalItem.groupBy({
            by: ['status'],
            _count: { _all: true },
            orderBy: { status: 'asc' },
          }),
        ),
      ).resolves.toEqual([
        { status: 'PENDING', _count: { _all: 2 } },
        { status: 'APPROVED', _count: { _all: 1 } },
      ]);
    });

    it('includes of to-one tenant relations return A’s rows', async () => {
      await expect(
        inA(() =>
          db.approvalItem.findUnique({
            where: { id: A.itemIds[0] },
            select: { project: { select: { id: true } }, workspace: { select: { id: true } } },
          }),
        ),
      ).resolves.toEqual({ project: { id: A.projectIds[0] }, workspace: { id: A.id } });
    });
  });

  describe('writes in workspace A', () => {
    let a: TenantFixture;
    let b: TenantFixture;
    beforeEach(async () => {
      [a, b] = await seedPair();
    });
    const inOwn = <T>(fn: () => T | Promise<T>): Promise<T> => runInTenant(a.id, fn);

    it('create fills in the workspace', async () => {
      const created = await inOwn(() => db.approvalItem.create({ data: { title: 'created' } }));

      expect(created.workspaceId).toBe(a.id);
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: a.id, id: created.id } },
          select: { workspaceId: true },
        }),
      ).resolves.toEqual({ workspaceId: a.id });
    });

    it('create with workspaceId of B rejects with CrossTenantWriteError and writes nothing', async () => {
      const before = [await stateOf(a.id), await stateOf(b.id)];

      await expect(
        inOwn(() => db.approvalItem.create({ data: { title: 'elsewhere', workspaceId: b.id } })),
      ).rejects.toThrow(
        new CrossTenantWriteError('ApprovalItem', 'workspaceId names another tenant'),
      );
      expect([await stateOf(a.id), await stateOf(b.id)]).toEqual(before);
    });

    it('create with an unchecked projectId of A', async () => {
      const created = await inOwn(() =>
        db.approvalItem.create({ data: { title: 'unchecked', projectId: a.projectIds[0] } }),
      );

      expect([created.workspaceId, created.projectId]).toEqual([a.id, a.projectIds[0]]);
    });

    it('create with checked data: project: { connect: { id } } of A', async () => {
      const created = await inOwn(() =>
        db.approvalItem.create({
          data: { title: 'checked', project: { connect: nestedId(a.projectIds[0]) } },
        }),
      );

      expect([created.workspaceId, created.projectId]).toEqual([a.id, a.projectIds[0]]);
    });

    it('createMany and createManyAndReturn put every row in A', async () => {
      await expect(
        inOwn(() =>
          db.approvalItem.createMany({ data: [{ title: 'many 1' }, { title: 'many 2' }] }),
        ),
      ).resolves.toEqual({ count: 2 });
      const returned = await inOwn(() =>
        db.approvalItem.createManyAndReturn({
          data: [{ title: 'returned 1' }, { title: 'returned 2', workspaceId: a.id }],
          select: { title: true, workspaceId: true },
        }),
      );

      expect(returned).toEqual([
        { title: 'returned 1', workspaceId: a.id },
        { title: 'returned 2', workspaceId: a.id },
      ]);
      await expect(
        admin.approvalItem.findMany({
          where: { title: { in: ['many 1', 'many 2', 'returned 1', 'returned 2'] } },
          select: { workspaceId: true },
        }),
      ).resolves.toEqual([
        { workspaceId: a.id },
        { workspaceId: a.id },
        { workspaceId: a.id },
        { workspaceId: a.id },
      ]);
    });

    const createManyOperations: [
      string,
      (data: Prisma.ApprovalItemCreateManyInput[]) => Promise<unknown>,
    ][] = [
      ['createMany', (data) => db.approvalItem.createMany({ data })],
      ['createManyAndReturn', (data) => db.approvalItem.createManyAndReturn({ data })],
    ];

    it.each(createManyOperations)(
      '%s with a row of B rejects with CrossTenantWriteError and writes no row',
      async (_operation, createMany) => {
        const before = [await stateOf(a.id), await stateOf(b.id)];

        await expect(
          inOwn(() => createMany([{ title: 'fine' }, { title: 'elsewhere', workspaceId: b.id }])),
        ).rejects.toThrow(
          new CrossTenantWriteError('ApprovalItem', 'workspaceId names another tenant'),
        );
        expect([await stateOf(a.id), await stateOf(b.id)]).toEqual(before);
      },
    );

    it('update and delete of B’s row reject with P2025; updateMany and deleteMany count 0; B unchanged', async () => {
      const before = await stateOf(b.id);
      const target = { id: b.itemIds[0] };

      await expect(
        inOwn(() => db.approvalItem.update({ where: target, data: { title: 'hijacked' } })),
      ).rejects.toMatchObject({
        code: 'P2025',
        meta: { modelName: 'ApprovalItem', operation: 'an update' },
      });
      await expect(inOwn(() => db.approvalItem.delete({ where: target }))).rejects.toMatchObject({
        code: 'P2025',
        meta: { modelName: 'ApprovalItem', operation: 'a delete' },
      });
      await expect(
        inOwn(() => db.approvalItem.updateMany({ where: target, data: { title: 'hijacked' } })),
      ).resolves.toEqual({ count: 0 });
      await expect(
        inOwn(() =>
          db.approvalItem.updateManyAndReturn({ where: target, data: { title: 'hijacked' } }),
        ),
      ).resolves.toEqual([]);
      await expect(inOwn(() => db.approvalItem.deleteMany({ where: target }))).resolves.toEqual({
        count: 0,
      });
      await expect(
        inOwn(() => db.workspace.update({ where: { id: b.id }, data: { name: 'hijacked' } })),
      ).rejects.toMatchObject({ code: 'P2025' });
      expect(await stateOf(b.id)).toEqual(before);
    });

    it('updateMany and deleteMany without a where touch only A’s rows', async () => {
      const before = await stateOf(b.id);

      await expect(
        inOwn(() => db.approvalItem.updateMany({ data: { description: 'bulk' } })),
      ).resolves.toEqual({
        count: 3,
      });
      await expect(inOwn(() => db.approvalComment.deleteMany())).resolves.toEqual({ count: 2 });
      expect(await stateOf(b.id)).toEqual(before);
      await expect(admin.approvalComment.count({ where: { workspaceId: a.id } })).resolves.toBe(0);
    });

    it('upsert of B’s id creates a new row in A and leaves B’s row alone', async () => {
      const before = await stateOf(b.id);

      const upserted = await inOwn(() =>
        db.approvalItem.upsert({
          where: { id: b.itemIds[0] },
          create: { title: 'upserted' },
          update: { title: 'hijacked' },
        }),
      );

      expect(upserted).toMatchObject({ workspaceId: a.id, title: 'upserted' });
      expect(upserted.id).not.toBe(b.itemIds[0]);
      expect(await stateOf(b.id)).toEqual(before);
    });

    it('upsert with B’s id creates A’s own row with that id (ids are unique per workspace) and leaves B’s row alone', async () => {
      const before = await stateOf(b.id);

      const created = await inOwn(() =>
        db.approvalItem.upsert({
          where: { id: b.itemIds[0] },
          create: { id: b.itemIds[0], title: 'upserted' },
          update: { title: 'hijacked' },
        }),
      );

      expect(created).toMatchObject({ id: b.itemIds[0], workspaceId: a.id, title: 'upserted' });
      expect(await stateOf(b.id)).toEqual(before);
    });

    it('update with workspaceId of B rejects with CrossTenantWriteError; the row stays in A', async () => {
      const before = await stateOf(a.id);

      await expect(
        inOwn(() =>
          db.approvalItem.update({ where: { id: a.itemIds[0] }, data: { workspaceId: b.id } }),
        ),
      ).rejects.toThrow(
        new CrossTenantWriteError(
          'ApprovalItem',
          'changing workspaceId would move the row to another tenant',
        ),
      );
      expect(await stateOf(a.id)).toEqual(before);
    });
  });

  describe('nested writes in workspace A', () => {
    let a: TenantFixture;
    let b: TenantFixture;
    beforeEach(async () => {
      [a, b] = await seedPair();
    });
    const inOwn = <T>(fn: () => T | Promise<T>): Promise<T> => runInTenant(a.id, fn);

    it('workspace.update connecting B’s item rejects with P2018; the item stays in B', async () => {
      const before = await stateOf(b.id);

      await expect(
        inOwn(() =>
          db.workspace.update({
            where: { id: a.id },
            data: { approvalItems: { connect: nestedId(b.itemIds[0]) } },
          }),
        ),
      ).rejects.toMatchObject({
        code: 'P2018',
        meta: {
          modelName: 'Workspace',
          relation: 'ApprovalItemToWorkspace',
          relationType: 'one-to-many',
          expectedRows: 1,
        },
      });
      expect(await stateOf(b.id)).toEqual(before);
    });

    it('approvalItem.create connecting B’s project rejects with P2025 (not found) and writes nothing', async () => {
      const before = [await stateOf(a.id), await stateOf(b.id)];

      await expect(
        inOwn(() =>
          db.approvalItem.create({
            data: { title: 'x', project: { connect: nestedId(b.projectIds[0]) } },
          }),
        ),
      ).rejects.toMatchObject({
        code: 'P2025',
        meta: { modelName: 'ApprovalItem', model: 'Project', operation: 'a nested connect' },
      });
      expect([await stateOf(a.id), await stateOf(b.id)]).toEqual(before);
    });

    it('approvalItem.create with an unchecked projectId of B violates the composite foreign key (P2003)', async () => {
      const before = [await stateOf(a.id), await stateOf(b.id)];

      const attempt = inOwn(() =>
        db.approvalItem.create({ data: { title: 'x', projectId: b.projectIds[0] } }),
      );

      await expect(attempt).rejects.toMatchObject({
        code: 'P2003',
        meta: { modelName: 'ApprovalItem' },
      });
      await expect(attempt).rejects.toThrow(
        'Foreign key constraint violated on the constraint: `approval_items_workspace_id_project_id_fkey`',
      );
      expect([await stateOf(a.id), await stateOf(b.id)]).toEqual(before);
    });

    it('connectOrCreate with B’s id creates in A and never touches B', async () => {
      const before = await stateOf(b.id);

      await inOwn(() =>
        db.project.update({
          where: { id: a.projectIds[0] },
          data: {
            approvalItems: {
              connectOrCreate: {
                where: nestedId(b.itemIds[0]),
                create: { title: 'connect-or-create' },
              },
            },
          },
        }),
      );

      await expect(
        admin.approvalItem.findMany({
          where: { title: 'connect-or-create' },
          select: { workspaceId: true, projectId: true },
        }),
      ).resolves.toEqual([{ workspaceId: a.id, projectId: a.projectIds[0] }]);
      expect(await stateOf(b.id)).toEqual(before);
    });

    it('a nested create under project.update lands in A', async () => {
      await inOwn(() =>
        db.project.update({
          where: { id: a.projectIds[0] },
          data: { approvalItems: { create: { title: 'nested create' } } },
        }),
      );

      await expect(
        admin.approvalItem.findMany({
          where: { title: 'nested create' },
          select: { workspaceId: true, projectId: true },
        }),
      ).resolves.toEqual([{ workspaceId: a.id, projectId: a.projectIds[0] }]);
    });

    it('a nested deleteMany: {} under workspace.update deletes only A’s rows', async () => {
      const before = await stateOf(b.id);

      await inOwn(() =>
        db.workspace.update({ where: { id: a.id }, data: { approvalItems: { deleteMany: {} } } }),
      );

      await expect(admin.approvalItem.count({ where: { workspaceId: a.id } })).resolves.toBe(0);
      expect(await stateOf(b.id)).toEqual(before);
    });
  });

  describe('relation filters and includes from a global model (User), in workspace A', () => {
    // u1: OWNER in A, MEMBER in B; u2: MEMBER in A, OWNER in B; u3: OWNER in B; u4: VIEWER in A.
    // u3 is not a member of A, so A does not see that user at all (identity scoping).
    const matching = (client: () => PrismaClient, where: Prisma.UserWhereInput) =>
      inA(() =>
        client().user.findMany({ where: { ...fourUsers(), ...where }, select: { id: true } }),
      ).then(idsOf);

    it('include: { memberships: true } shows only A’s memberships', async () => {
      const found = await inA(() =>
        db.user.findMany({
          where: fourUsers(),
          include: { memberships: { select: { workspaceId: true, role: true } } },
        }),
      );

      expect(Object.fromEntries(found.map((user) => [user.id, user.memberships]))).toEqual({
        [users.u1]: [{ workspaceId: A.id, role: 'OWNER' }],
        [users.u2]: [{ workspaceId: A.id, role: 'MEMBER' }],
        [users.u4]: [{ workspaceId: A.id, role: 'VIEWER' }],
      });
    });

    it('some / every / none count only A’s memberships', async () => {
      await expect(
        matching(() => db, { memberships: { some: { role: 'OWNER' } } }),
      ).resolves.toEqual(sorted([users.u1]));
      await expect(
        matching(() => db, { memberships: { every: { role: 'OWNER' } } }),
      ).resolves.toEqual(sorted([users.u1]));
      await expect(
        matching(() => db, { memberships: { none: { role: 'OWNER' } } }),
      ).resolves.toEqual(sorted([users.u2, users.u4]));
    });

    it('_count: { select: { memberships: true } } counts only A’s', async () => {
      const found = await inA(() =>
        db.user.findMany({
          where: fourUsers(),
          select: { id: true, _count: { select: { memberships: true } } },
        }),
      );

      expect(Object.fromEntries(found.map((user) => [user.id, user._count.memberships]))).toEqual({
        [users.u1]: 1,
        [users.u2]: 1,
        [users.u4]: 1,
      });
    });

    it('refuses ordering users by a tenant relation _count (it cannot be scoped to A)', async () => {
      await expect(
        inA(() =>
          db.user.findMany({
            where: fourUsers(),
            orderBy: [{ memberships: { _count: 'asc' } }, { email: 'asc' }],
            select: { id: true },
          }),
        ),
      ).rejects.toThrow(UnscopableQueryError);
    });

    it('the fluent API user.findUnique(...).memberships() returns only A’s', async () => {
      const memberships = await inA(() =>
        db.user
          .findUnique({ where: { id: users.u1 } })
          .memberships({ select: { workspaceId: true } }),
      );

      expect(memberships).toEqual([{ workspaceId: A.id }]);
    });
  });

  describe('raw SQL', () => {
    it('$queryRaw in A counts A’s rows (layer 2)', async () => {
      await expect(
        inA(() => db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM approval_items`),
      ).resolves.toEqual([{ n: 3 }]);
      await expect(
        inA(() => db.$executeRaw`UPDATE approval_items SET title = title`),
      ).resolves.toBe(3);
    });

    it('$queryRaw and $queryRawUnsafe without a tenant reject with MissingTenantContextError', async () => {
      await expect(
        db.$queryRaw`SELECT count(*)::int AS n FROM approval_items`,
      ).rejects.toMatchObject({
        name: 'MissingTenantContextError',
        target: '$queryRaw',
      });
      await expect(db.$queryRawUnsafe('SELECT 1')).rejects.toMatchObject({
        name: 'MissingTenantContextError',
        target: '$queryRawUnsafe',
      });
    });
  });

  it('a query built inside runInTenant but awaited outside rejects with MissingTenantContextError', async () => {
    const built = await runInTenant(A.id, () => ({ query: db.approvalItem.findMany() }));

    await expect(built.query).rejects.toMatchObject({
      name: 'MissingTenantContextError',
      target: 'ApprovalItem.findMany',
    });
  });

  describe('concurrency and batching', () => {
    it('findUnique from A and B in the same tick each return their own row', async () => {
      const lookUp = (tenant: TenantFixture, id: string) =>
        runInTenant(tenant.id, () =>
          db.approvalItem.findUnique({ where: { id }, select: { id: true } }),
        );

      await expect(
        Promise.all([
          lookUp(A, A.itemIds[0]),
          lookUp(B, B.itemIds[0]),
          lookUp(A, B.itemIds[1]),
          lookUp(B, A.itemIds[1]),
        ]),
      ).resolves.toEqual([{ id: A.itemIds[0] }, { id: B.itemIds[0] }, null, null]);
    });

    it('findUnique from 20 workspaces in the same tick each return their own row', async () => {
      const tenants = Array.from({ length: 20 }, () => ({
        id: randomUUID(),
        itemId: randomUUID(),
      }));
      await admin.workspace.createMany({
        data: tenants.map(({ id }) => ({ id, name: 'Concurrent', slug: `concurrent-${id}` })),
      });
      await admin.approvalItem.createMany({
        data: tenants.map(({ id, itemId }) => ({
          id: itemId,
          workspaceId: id,
          title: `item of ${id}`,
        })),
      });

      const own = await Promise.all(
        tenants.map(({ id, itemId }) =>
          runInTenant(id, () =>
            db.approvalItem.findUnique({
              where: { id: itemId },
              select: { id: true, workspaceId: true },
            }),
          ),
        ),
      );
      const neighbours = await Promise.all(
        tenants.map(({ id }, n) =>
          runInTenant(id, () =>
            db.approvalItem.findUnique({ where: { id: tenants[(n + 1) % tenants.length].itemId } }),
          ),
        ),
      );

      expect(own).toEqual(tenants.map(({ id, itemId }) => ({ id: itemId, workspaceId: id })));
      expect(neighbours).toEqual(tenants.map(() => null));
    });

    it('batch $transaction([...]) from A and B concurrently each see only their own rows', async () => {
      const batch = (tenant: TenantFixture, other: TenantFixture) =>
        runInTenant(tenant.id, () =>
          db.$transaction([
            db.approvalItem.findMany({ select: { id: true } }),
            db.project.count(),
            db.approvalItem.findUnique({ where: { id: tenant.itemIds[0] }, select: { id: true } }),
            db.approvalItem.findUnique({ where: { id: other.itemIds[0] }, select: { id: true } }),
            db.$queryRaw<
              { setting: string }[]
            >`SELECT public.current_workspace_id()::text AS setting`,
          ]),
        );

      const [a, b] = await Promise.all([batch(A, B), batch(B, A)]);

      expect([idsOf(a[0]), a[1], a[2], a[3], a[4]]).toEqual([
        sorted(A.itemIds),
        2,
        { id: A.itemIds[0] },
        null,
        [{ setting: A.id }],
      ]);
      expect([idsOf(b[0]), b[1], b[2], b[3], b[4]]).toEqual([
        sorted(B.itemIds),
        2,
        { id: B.itemIds[0] },
        null,
        [{ setting: B.id }],
      ]);
    });

    it('an interactive $transaction keeps both layers', async () => {
      const seen = await inA(() =>
        db.$transaction(async (tx) => {
          const [{ setting }] = await tx.$queryRaw<{ setting: string }[]>`
            SELECT public.current_workspace_id()::text AS setting`;
          return {
            setting,
            items: idsOf(await tx.approvalItem.findMany({ select: { id: true } })),
            other: await tx.approvalItem.findUnique({ where: { id: B.itemIds[0] } }),
          };
        }),
      );

      expect(seen).toEqual({ setting: A.id, items: sorted(A.itemIds), other: null });
    });

    it('a failing statement rolls back the whole interactive transaction', async () => {
      const title = `rolled back ${randomUUID()}`;
      const visibleInside: number[] = [];

      const attempt = inA(() =>
        db.$transaction(async (tx) => {
          await tx.approvalItem.create({ data: { title } });
          visibleInside.push(await tx.approvalItem.count({ where: { title } }));
          await tx.approvalItem.create({ data: { title: 'fails', projectId: B.projectIds[0] } });
        }),
      );

      await expect(attempt).rejects.toMatchObject({ code: 'P2003' });
      expect(visibleInside).toEqual([1]);
      await expect(admin.approvalItem.findMany({ where: { title } })).resolves.toEqual([]);
    });
  });

  describe('layer 2 alone: the unextended base client over the tenant driver', () => {
    it('returns only A’s rows inside runInTenant(A), through Row-Level Security', async () => {
      expect(idsOf(await inA(() => base.approvalItem.findMany({ select: { id: true } })))).toEqual(
        sorted(A.itemIds),
      );
      await expect(
        inA(() => base.approvalItem.findMany({ where: { workspaceId: B.id } })),
      ).resolves.toEqual([]);
      await expect(
        inA(() =>
          base.approvalItem.updateMany({ where: { workspaceId: B.id }, data: { title: 'x' } }),
        ),
      ).resolves.toEqual({ count: 0 });
    });

    it('returns no rows, and no error, outside any tenant', async () => {
      await expect(base.approvalItem.findMany()).resolves.toEqual([]);
      await expect(base.workspace.count()).resolves.toBe(0);
    });

    it('refuses to insert a row of B inside runInTenant(A)', async () => {
      const before = await stateOf(B.id);

      const refusal = 'new row violates row-level security policy for table "approval_items"';
      await expect(
        inA(() => base.approvalItem.create({ data: { title: 'rls', workspaceId: B.id } })),
      ).rejects.toMatchObject(
        // Prisma 7 wraps a database error it does not classify as P2039, the driver's error in
        // `meta`; Prisma 6.19 throws the driver's error itself.
        PRISMA_MAJOR >= 7
          ? {
              name: 'PrismaClientKnownRequestError',
              code: 'P2039',
              meta: {
                driverAdapterError: {
                  cause: { kind: 'postgres', code: '42501', message: refusal },
                },
              },
            }
          : { name: 'DriverAdapterError', message: refusal },
      );
      expect(await stateOf(B.id)).toEqual(before);
    });
  });

  describe('layer 1 alone: the extension over the app_admin connection (no RLS restriction)', () => {
    it('scopes reads and writes to A', async () => {
      expect(
        idsOf(await inA(() => layer1.approvalItem.findMany({ select: { id: true } }))),
      ).toEqual(sorted(A.itemIds));
      expect(
        idsOf(await inA(() => layer1.workspaceMember.findMany({ select: { id: true } }))),
      ).toEqual(sorted(A.memberIds));
      await expect(
        inA(() => layer1.approvalItem.findUnique({ where: { id: B.itemIds[0] } })),
      ).resolves.toBeNull();
      await expect(inA(() => layer1.approvalItem.count())).resolves.toBe(3);
      await expect(
        inA(() =>
          layer1.approvalItem.updateMany({ where: { id: B.itemIds[0] }, data: { title: 'x' } }),
        ),
      ).resolves.toEqual({ count: 0 });
    });

    it('verifies the tenant of a findUnique by id after the read (the batched fast path)', async () => {
      const mine = A.itemIds[0];
      const theirs = B.itemIds[0];
      await expect(
        inA(() => layer1.approvalItem.findUniqueOrThrow({ where: { id: theirs } })),
      ).rejects.toMatchObject({ code: 'P2025' });
      await expect(
        inA(() =>
          layer1.approvalItem.findUnique({ where: { id: theirs }, select: { title: true } }),
        ),
      ).resolves.toBeNull();
      // The tenant column is read for the check but not returned when the caller left it out.
      await expect(
        inA(() => layer1.approvalItem.findUnique({ where: { id: mine }, select: { id: true } })),
      ).resolves.toEqual({ id: mine });
      const omitted = await inA(() =>
        layer1.approvalItem.findUnique({ where: { id: mine }, omit: { workspaceId: true } }),
      );
      expect(omitted).not.toHaveProperty('workspaceId');
      expect(omitted?.id).toBe(mine);
      // Same tick, two tenants, same query shape: Prisma batches them; each gets only its own.
      const [inOwn, inOther] = await Promise.all([
        inA(() => layer1.approvalItem.findUnique({ where: { id: theirs } })),
        runInTenant(B.id, () => layer1.approvalItem.findUnique({ where: { id: theirs } })),
      ]);
      expect([inOwn, inOther?.id]).toEqual([null, theirs]);
    });

    it('counts only A’s memberships in _count: { select }', async () => {
      const found = await inA(() =>
        layer1.user.findMany({
          where: fourUsers(),
          select: { id: true, _count: { select: { memberships: true } } },
        }),
      );

      expect(Object.fromEntries(found.map((user) => [user.id, user._count.memberships]))).toEqual({
        [users.u1]: 1,
        [users.u2]: 1,
        [users.u4]: 1,
      });
    });

    it('leaves raw SQL to layer 2: $queryRaw sees every workspace here', async () => {
      await expect(
        inA(
          () => layer1.$queryRaw<{ n: number }[]>`
            SELECT count(*)::int AS n FROM approval_items
            WHERE workspace_id IN (${A.id}::uuid, ${B.id}::uuid)`,
        ),
      ).resolves.toEqual([{ n: 6 }]);
    });

    it('scopes include, some / every / none and the fluent API of memberships', async () => {
      const included = await inA(() =>
        layer1.user.findUnique({
          where: { id: users.u1 },
          select: { memberships: { select: { workspaceId: true } } },
        }),
      );
      const owners = await inA(() =>
        layer1.user.findMany({
          where: { ...fourUsers(), memberships: { some: { role: 'OWNER' } } },
          select: { id: true },
        }),
      );
      const allOwners = await inA(() =>
        layer1.user.findMany({
          where: { ...fourUsers(), memberships: { every: { role: 'OWNER' } } },
          select: { id: true },
        }),
      );
      const noOwners = await inA(() =>
        layer1.user.findMany({
          where: { ...fourUsers(), memberships: { none: { role: 'OWNER' } } },
          select: { id: true },
        }),
      );
      const fluent = await inA(() =>
        layer1.user.findUnique({ where: { id: users.u2 } }).memberships({ select: { role: true } }),
      );

      expect(included).toEqual({ memberships: [{ workspaceId: A.id }] });
      expect(idsOf(owners)).toEqual(sorted([users.u1]));
      expect(idsOf(allOwners)).toEqual(sorted([users.u1]));
      expect(idsOf(noOwners)).toEqual(sorted([users.u2, users.u4]));
      expect(fluent).toEqual([{ role: 'MEMBER' }]);
    });

    it('counts only A’s memberships in _count: true (and only the current user’s accounts)', async () => {
      const found = await runInTenant(
        A.id,
        () => layer1.user.findUnique({ where: { id: users.u1 }, select: { _count: true } }),
        { userId: users.u1 },
      );

      expect(found?._count).toEqual({
        accounts: 0,
        sessions: 0,
        memberships: 1,
        createdItems: 0,
        decidedItems: 0,
        approvalComments: 0,
        auditLogs: 0,
      });
    });

    it('refuses ordering users by a tenant relation _count rather than rank by other workspaces', async () => {
      await expect(
        inA(() =>
          layer1.user.findMany({
            where: fourUsers(),
            orderBy: [{ memberships: { _count: 'asc' } }, { email: 'asc' }],
            select: { id: true },
          }),
        ),
      ).rejects.toThrow(UnscopableQueryError);
    });
  });

  describe('cursor and id spelling', () => {
    it('cursor pagination works on a tenant-owned model', async () => {
      const page = await inA(() =>
        db.approvalItem.findMany({
          cursor: { id: A.itemIds[1] },
          orderBy: { title: 'asc' },
          select: { title: true },
        }),
      );

      expect(page).toEqual([{ title: 'A item 1' }, { title: 'A item 2' }]);
    });

    // Prisma 6.19's query-extension pipeline deep-clones the arguments and turns Prisma.skip into {}
    // before any hook sees them, so under ANY extension it stops meaning "leave out"; Prisma 7 keeps
    // it, and the relation is left out. What the tenant client guarantees is that the result stays
    // scoped.
    it('Prisma.skip in an include of a tenant relation leaves it out (7) or, seen as {} (6.19), shows only A’s rows', async () => {
      const found = await inA(() =>
        db.user.findUnique({ where: { id: users.u1 }, include: { memberships: Prisma.skip } }),
      );

      expect(
        (found as { memberships?: Array<{ workspaceId: string }> } | null)?.memberships?.map(
          (m) => m.workspaceId,
        ),
      ).toEqual(PRISMA_MAJOR >= 7 ? undefined : [A.id]);
    });

    it('Prisma.skip as a some-filter of a tenant relation (seen as {}) matches A’s members only', async () => {
      const found = await inA(() =>
        db.user.findMany({
          where: { ...fourUsers(), memberships: { some: Prisma.skip } },
          select: { id: true },
        }),
      );

      expect(idsOf(found)).toEqual(sorted([users.u1, users.u2, users.u4]));
    });

    it('an upper-case spelling of the current workspace id is the same workspace', async () => {
      const [own] = await seedPair();
      const upper = own.id.toUpperCase();

      const created = await runInTenant(upper, () =>
        db.approvalItem.create({ data: { title: 'upper-case id', workspaceId: upper } }),
      );

      expect(created.workspaceId).toBe(own.id);
    });
  });
});
