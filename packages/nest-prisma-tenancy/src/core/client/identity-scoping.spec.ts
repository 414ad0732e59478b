import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import { MissingTenantContextError } from '../errors/missing-tenant-context.error';
import { MissingUserContextError } from '../errors/missing-user-context.error';
import { UnscopableQueryError } from '../errors/unscopable-query.error';
import { createTenantPrismaClient, type TenantPrismaClient } from './tenant-extension';
import { runInTenant, runWithTenantOrNone } from '../context/tenant-context';

/**
 * Identity scoping (the `identity` option, on by default) against the real database, at layer 1
 * alone: `layer1` is the tenant client's extension over the app_admin connection, whose policies
 * let it see and change every row, so nothing here is stopped by Row-Level Security, column
 * privileges or triggers. What the attacks below fail on is the extension itself: its own error
 * classes, or Prisma's "not found" for a row the extension filtered out. `admin` (app_admin,
 * unextended) seeds the fixtures and reads the real state afterwards.
 *
 * Fixtures: workspace A with `userA` (OWNER, the attacker's own account) and `shared` (MEMBER of A
 * and B); workspace B with `ownerB` (OWNER) and `memberB` (MEMBER); `outsider` belongs to no
 * workspace. B's owner has an API key, an invitation, an OAuth account and a session.
 */
describe('identity scoping at layer 1 (the extension over app_admin, which RLS does not restrict)', () => {
  let admin: PrismaClient;
  let layer1Base: PrismaClient;
  let layer1: TenantPrismaClient;
  /** SQL the layer-1 client sent, for checks on what it asks PostgreSQL to return. */
  const sent: string[] = [];

  const run = randomUUID().slice(0, 8);
  const ids = {
    A: randomUUID(),
    B: randomUUID(),
    userA: randomUUID(),
    shared: randomUUID(),
    ownerB: randomUUID(),
    memberB: randomUUID(),
    outsider: randomUUID(),
    spare: randomUUID(),
    memberOfUserA: randomUUID(),
    memberOfOwnerB: randomUUID(),
    itemA: randomUUID(),
  };
  const emailOf = (key: keyof typeof ids) => `${key}-${run}@identity.test`;
  const B_TOKEN = `b-access-token-${run}`;

  /** The context of an `@Authenticated()` handler: a user, no workspace. */
  const asUserOnly = <T>(userId: string, fn: () => Promise<T>): Promise<T> =>
    runWithTenantOrNone(undefined, async () => await fn(), userId);

  /** A's context, acting as `userA`. */
  const asUserA = <T>(fn: () => T | Promise<T>): Promise<T> =>
    runInTenant(ids.A, fn, { userId: ids.userA });

  /** Every row that belongs to B or to B's users, read as app_admin. */
  async function stateOfB() {
    const userIds = [ids.ownerB, ids.memberB, ids.shared, ids.outsider];
    const orderBy = { id: 'asc' } as const;
    const [users, members, apiKeys, invitations, accounts, sessions] = await Promise.all([
      admin.user.findMany({ where: { id: { in: userIds } }, orderBy }),
      admin.workspaceMember.findMany({ where: { workspaceId: ids.B }, orderBy }),
      admin.apiKey.findMany({ where: { workspaceId: ids.B }, orderBy }),
      admin.workspaceInvitation.findMany({ where: { workspaceId: ids.B }, orderBy }),
      admin.account.findMany({ where: { userId: { in: userIds } }, orderBy }),
      admin.session.findMany({ where: { userId: { in: userIds } }, orderBy }),
    ]);
    return { users, members, apiKeys, invitations, accounts, sessions };
  }
  let before: Awaited<ReturnType<typeof stateOfB>>;

  beforeAll(async () => {
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }),
    });
    const logged = new PrismaClient({
      adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }),
      log: [{ emit: 'event', level: 'query' }],
    });
    logged.$on('query', (event) => sent.push(event.query));
    layer1Base = logged as unknown as PrismaClient;
    layer1 = createTenantPrismaClient(layer1Base);

    const users = ['userA', 'shared', 'ownerB', 'memberB', 'outsider'] as const;
    await admin.user.createMany({
      data: users.map((key) => ({ id: ids[key], email: emailOf(key), name: key })),
    });
    await admin.workspace.createMany({
      data: [
        { id: ids.A, name: 'A', slug: `a-${run}` },
        { id: ids.B, name: 'B', slug: `b-${run}` },
      ],
    });
    await admin.workspaceMember.createMany({
      data: [
        { id: ids.memberOfUserA, workspaceId: ids.A, userId: ids.userA, role: 'OWNER' },
        { workspaceId: ids.A, userId: ids.shared, role: 'MEMBER' },
        { id: ids.memberOfOwnerB, workspaceId: ids.B, userId: ids.ownerB, role: 'OWNER' },
        { workspaceId: ids.B, userId: ids.memberB, role: 'MEMBER' },
        { workspaceId: ids.B, userId: ids.shared, role: 'MEMBER' },
      ],
    });
    await admin.apiKey.create({
      data: {
        workspaceId: ids.B,
        name: 'deploy',
        prefix: `pk_${run}`,
        hashedKey: `hashed-${run}`,
        createdById: ids.memberOfOwnerB,
      },
    });
    await admin.workspaceInvitation.create({
      data: {
        workspaceId: ids.B,
        email: `invitee-${run}@identity.test`,
        tokenHash: `invitation-${run}`,
        invitedById: ids.memberOfOwnerB,
        expiresAt: new Date(Date.now() + 86_400_000),
      },
    });
    await admin.approvalItem.create({
      data: { id: ids.itemA, workspaceId: ids.A, title: 'by shared', createdById: ids.shared },
    });
    await admin.account.createMany({
      data: [
        {
          userId: ids.ownerB,
          type: 'oauth',
          provider: 'github',
          providerAccountId: `ownerB-${run}`,
          accessToken: B_TOKEN,
          refreshToken: `b-refresh-${run}`,
        },
        {
          userId: ids.shared,
          type: 'oauth',
          provider: 'github',
          providerAccountId: `shared-${run}`,
          accessToken: `shared-access-${run}`,
        },
        {
          userId: ids.userA,
          type: 'oauth',
          provider: 'github',
          providerAccountId: `userA-${run}`,
          accessToken: `a-access-${run}`,
          refreshToken: `a-refresh-${run}`,
          idToken: `a-id-${run}`,
        },
      ],
    });
    await admin.session.createMany({
      data: [
        { userId: ids.ownerB, sessionTokenHash: `b-session-${run}`, expires: new Date(9e12) },
        { userId: ids.userA, sessionTokenHash: `a-session-${run}`, expires: new Date(9e12) },
      ],
    });
    before = await stateOfB();
  });

  afterAll(async () => {
    await Promise.all([admin.$disconnect(), layer1Base.$disconnect()]);
  });

  /** Rejects with exactly `type` (not a subclass, not a database error). */
  async function refusedWith(
    promise: Promise<unknown>,
    type: typeof UnscopableQueryError | typeof MissingTenantContextError,
  ): Promise<void> {
    const error: unknown = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).constructor).toBe(type);
  }

  /**
   * Rejects with Prisma's "not found" (P2025; P2018 for a list `connect`): the extension filtered
   * the row out.
   */
  async function notFound(promise: Promise<unknown>, code = 'P2025'): Promise<void> {
    const error: unknown = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect((error as Prisma.PrismaClientKnownRequestError).code).toBe(code);
  }

  describe('attacks from workspace A, refused by layer 1 alone; B is unchanged afterwards', () => {
    afterEach(async () => {
      expect(await stateOfB()).toEqual(before);
      await expect(admin.user.findUnique({ where: { id: ids.spare } })).resolves.toBeNull();
      await expect(
        admin.workspaceMember.findUnique({
          where: { workspaceId_id: { workspaceId: ids.A, id: ids.memberOfUserA } },
        }),
      ).resolves.toMatchObject({ userId: ids.userA, workspaceId: ids.A });
    });

    it('re-keying users: user.update with data.id (own row, then B’s owner) is refused', async () => {
      await refusedWith(
        asUserA(() => layer1.user.update({ where: { id: ids.userA }, data: { id: ids.spare } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.user.update({ where: { id: ids.ownerB }, data: { id: ids.userA } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.user.updateMany({ where: { id: ids.ownerB }, data: { id: ids.userA } }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.user.upsert({
            where: { id: ids.ownerB },
            create: { id: ids.userA, email: emailOf('userA') },
            update: { id: ids.userA },
          }),
        ),
        UnscopableQueryError,
      );
    });

    it('re-keying through nested writes only: workspaceMember.update → user.update { id }', async () => {
      await refusedWith(
        asUserA(() =>
          layer1.workspaceMember.update({
            where: { id: ids.memberOfUserA },
            data: { user: { update: { id: ids.spare } } },
          }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.workspaceMember.update({
            where: { id: ids.memberOfUserA },
            data: { user: { update: { data: { id: ids.spare } } } },
          }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.workspaceMember.update({
            where: { id: ids.memberOfUserA },
            data: { userId: ids.ownerB },
          }),
        ),
        UnscopableQueryError,
      );
    });

    it('approvalItem.update → createdBy: { update } of another user is refused or not found', async () => {
      await refusedWith(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { update: { id: ids.spare } } },
          }),
        ),
        UnscopableQueryError,
      );
      // The item's creator is `shared` (a member of A and B): only the current user's row is
      // writable, so the nested update finds no row.
      await notFound(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { update: { email: `stolen-${run}@evil.test` } } },
          }),
        ),
      );
      await refusedWith(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { upsert: { create: { id: ids.userA, email: 'x' }, update: {} } } },
          }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { delete: true } },
          }),
        ),
        UnscopableQueryError,
      );
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: ids.A, id: ids.itemA } },
        }),
      ).resolves.toMatchObject({ createdById: ids.shared });
    });

    it('approvalItem.update → createdBy: { connect } of a user A cannot see is not found', async () => {
      await notFound(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { connect: { id: ids.ownerB } } },
          }),
        ),
      );
      await notFound(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: { createdBy: { connect: { email: emailOf('outsider') } } },
          }),
        ),
      );
      await refusedWith(
        asUserA(() =>
          layer1.approvalItem.update({
            where: { id: ids.itemA },
            data: {
              createdBy: {
                connectOrCreate: {
                  where: { id: ids.ownerB },
                  create: { id: ids.ownerB, email: 'x' },
                },
              },
            },
          }),
        ),
        UnscopableQueryError,
      );
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: ids.A, id: ids.itemA } },
        }),
      ).resolves.toMatchObject({ createdById: ids.shared });
    });

    it('user.delete / deleteMany of B’s owner is refused', async () => {
      await refusedWith(
        asUserA(() => layer1.user.delete({ where: { id: ids.ownerB } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.user.deleteMany({ where: { id: ids.ownerB } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.user.delete({ where: { id: ids.userA } })),
        UnscopableQueryError,
      );
    });

    it('reading B’s users’ OAuth tokens: no rows, no token fields, token filters refused', async () => {
      const seen = await asUserA(() => layer1.account.findMany({ where: { userId: ids.ownerB } }));
      expect(seen).toEqual([]);
      const all = await asUserA(() => layer1.account.findMany());
      expect(all.map((a) => a.userId)).toEqual([ids.userA]);
      await refusedWith(
        asUserA(() => layer1.account.findMany({ select: { accessToken: true } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.account.findMany({ omit: { refreshToken: false } })),
        UnscopableQueryError,
      );
      // An existence oracle on a token value is refused too, at every depth.
      await refusedWith(
        asUserA(() => layer1.account.count({ where: { accessToken: B_TOKEN } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.user.findMany({ where: { accounts: { some: { accessToken: B_TOKEN } } } }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.account.aggregate({ _max: { refreshToken: true } })),
        UnscopableQueryError,
      );
      // `shared` is visible (a member of A), but their accounts are theirs alone.
      const viaUser = await asUserA(() =>
        layer1.user.findUnique({ where: { id: ids.shared }, include: { accounts: true } }),
      );
      expect(viaUser?.accounts).toEqual([]);
      const viaMembers = await asUserA(() =>
        layer1.workspaceMember.findMany({
          include: { user: { include: { accounts: true, sessions: true } } },
        }),
      );
      for (const member of viaMembers) {
        const expected = member.userId === ids.userA ? 1 : 0;
        expect(member.user.accounts).toHaveLength(expected);
        expect(member.user.sessions).toHaveLength(expected);
      }
      expect(JSON.stringify([all, viaMembers])).not.toMatch(/access|refresh|a-id-|session-/);
    });

    it('changing a B user’s e-mail: not found / nothing updated', async () => {
      for (const id of [ids.memberB, ids.ownerB, ids.shared]) {
        await notFound(
          asUserA(() =>
            layer1.user.update({ where: { id }, data: { email: `stolen-${id}@evil.test` } }),
          ),
        );
        await expect(
          asUserA(() =>
            layer1.user.updateMany({ where: { id }, data: { email: `stolen-${id}@evil.test` } }),
          ),
        ).resolves.toEqual({ count: 0 });
      }
      await expect(
        asUserA(() =>
          layer1.workspaceMember.update({
            where: { id: ids.memberOfUserA },
            data: { user: { update: { email: `x-${run}@evil.test` } } },
          }),
        ),
      ).resolves.toMatchObject({ userId: ids.userA });
      await admin.user.update({ where: { id: ids.userA }, data: { email: emailOf('userA') } });
    });

    it('creating a Session (or Account) for B’s owner is refused', async () => {
      const session = { sessionTokenHash: `forged-${run}`, expires: new Date(9e12) };
      await refusedWith(
        asUserA(() => layer1.session.create({ data: { ...session, userId: ids.ownerB } })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.session.create({ data: { ...session, user: { connect: { id: ids.ownerB } } } }),
        ),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() => layer1.session.createMany({ data: [{ ...session, userId: ids.ownerB }] })),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.account.upsert({
            where: {
              provider_providerAccountId: {
                provider: 'github',
                providerAccountId: `ownerB-${run}`,
              },
            },
            create: {
              type: 'oauth',
              provider: 'github',
              providerAccountId: 'x',
              userId: ids.ownerB,
            },
            update: {},
          }),
        ),
        UnscopableQueryError,
      );
      await notFound(
        asUserA(() =>
          layer1.user.update({
            where: { id: ids.ownerB },
            data: { sessions: { create: session } },
          }),
        ),
      );
      // Taking over B's owner's session or account row through the current user is not found.
      const ownerSession = before.sessions.find((s) => s.userId === ids.ownerB);
      await notFound(
        asUserA(() =>
          layer1.user.update({
            where: { id: ids.userA },
            data: { sessions: { connect: { id: ownerSession?.id ?? '' } } },
          }),
        ),
        'P2018',
      );
      await notFound(
        asUserA(() =>
          layer1.session.update({
            where: { id: ownerSession?.id ?? '' },
            data: { expires: new Date(0) },
          }),
        ),
      );
      await expect(
        asUserA(() => layer1.session.deleteMany({ where: { userId: ids.ownerB } })),
      ).resolves.toEqual({ count: 0 });
    });

    it('verification tokens are refused entirely, naming SystemPrisma.forReason', async () => {
      await refusedWith(
        asUserA(() => layer1.verificationToken.findMany()),
        UnscopableQueryError,
      );
      await refusedWith(
        asUserA(() =>
          layer1.verificationToken.create({
            data: { identifier: emailOf('ownerB'), tokenHash: `t-${run}`, expires: new Date(9e12) },
          }),
        ),
        UnscopableQueryError,
      );
      await expect(asUserA(() => layer1.verificationToken.deleteMany())).rejects.toThrow(
        /SystemPrisma\.forReason/,
      );
    });

    it('B’s users are invisible from A: by id, by e-mail, in lists and counts', async () => {
      await expect(
        asUserA(() => layer1.user.findUnique({ where: { id: ids.ownerB } })),
      ).resolves.toBeNull();
      await expect(
        asUserA(() => layer1.user.findUnique({ where: { email: emailOf('memberB') } })),
      ).resolves.toBeNull();
      await expect(
        asUserA(() => layer1.user.findFirst({ where: { email: emailOf('outsider') } })),
      ).resolves.toBeNull();
      await expect(asUserA(() => layer1.user.count())).resolves.toBe(2);
      await refusedWith(
        asUserA(() => layer1.user.findMany({ cursor: { email: emailOf('ownerB') }, take: 1 })),
        UnscopableQueryError,
      );
    });

    it('without any context, or without a user, identity queries are refused before sending', async () => {
      sent.length = 0;
      await refusedWith(layer1.user.findMany(), MissingTenantContextError);
      const noUser = (fn: () => Promise<unknown>) => runInTenant(ids.A, fn);
      await expect(noUser(() => layer1.account.findMany())).rejects.toBeInstanceOf(
        MissingUserContextError,
      );
      await expect(
        noUser(() => layer1.user.update({ where: { id: ids.userA }, data: { name: 'x' } })),
      ).rejects.toBeInstanceOf(MissingUserContextError);
      expect(sent).toEqual([]);
    });
  });

  describe('legitimate use', () => {
    it('a user reads and updates their own row', async () => {
      await expect(
        asUserA(() => layer1.user.findUnique({ where: { id: ids.userA } })),
      ).resolves.toMatchObject({ id: ids.userA, email: emailOf('userA') });
      await expect(
        asUserA(() => layer1.user.update({ where: { id: ids.userA }, data: { name: 'Ada' } })),
      ).resolves.toMatchObject({ id: ids.userA, name: 'Ada' });
      // Outside any workspace (an @Authenticated() handler): the user alone.
      await expect(
        asUserOnly(ids.userA, () => layer1.user.findMany({ select: { id: true } })),
      ).resolves.toEqual([{ id: ids.userA }]);
    });

    it('a new user creates their own User row as POST /workspaces does (createMany, skipDuplicates)', async () => {
      const fresh = randomUUID();
      const create = (id: string) =>
        asUserOnly(id, () =>
          layer1.user.createMany({
            data: [{ id, email: `${id}@users.invalid` }],
            skipDuplicates: true,
          }),
        );
      await expect(create(fresh)).resolves.toEqual({ count: 1 });
      await expect(create(fresh)).resolves.toEqual({ count: 0 });
      await expect(create(ids.userA)).resolves.toEqual({ count: 0 });
      await expect(admin.user.findUnique({ where: { id: fresh } })).resolves.toMatchObject({
        email: `${fresh}@users.invalid`,
      });
    });

    it('members of the workspace are listed with user.findMany() and include: { user: true }', async () => {
      const users = await asUserA(() =>
        layer1.user.findMany({ select: { id: true }, orderBy: { id: 'asc' } }),
      );
      expect(users.map((u) => u.id)).toEqual([ids.userA, ids.shared].sort());
      const members = await asUserA(() =>
        layer1.workspaceMember.findMany({ include: { user: true } }),
      );
      expect(members.map((m) => m.user.id).sort()).toEqual([ids.userA, ids.shared].sort());
      // In B's context, as `shared`, B's members are visible instead.
      const inB = await runInTenant(ids.B, () => layer1.user.findMany({ select: { id: true } }), {
        userId: ids.shared,
      });
      expect(inB.map((u) => u.id).sort()).toEqual([ids.ownerB, ids.memberB, ids.shared].sort());
    });

    it('own accounts and sessions are readable, without their secret fields', async () => {
      const [accounts, sessions] = await asUserA(() =>
        Promise.all([layer1.account.findMany(), layer1.session.findMany()]),
      );
      expect(accounts).toEqual([
        expect.objectContaining({ userId: ids.userA, providerAccountId: `userA-${run}` }),
      ]);
      expect(Object.keys(accounts[0]).sort()).toEqual(
        ['id', 'userId', 'type', 'provider', 'providerAccountId', 'expiresAt', 'tokenType']
          .concat(['scope', 'sessionState'])
          .sort(),
      );
      expect(sessions).toHaveLength(1);
      expect(sessions[0]).not.toHaveProperty('sessionTokenHash');
      const viaUser = await asUserA(() =>
        layer1.user.findUnique({ where: { id: ids.userA } }).accounts(),
      );
      expect(viaUser).toHaveLength(1);
      expect(viaUser?.[0]).not.toHaveProperty('accessToken');
    });

    it('an account is linked with its tokens, which are written but never asked back', async () => {
      sent.length = 0;
      const created = await asUserA(() =>
        layer1.account.create({
          data: {
            userId: ids.userA,
            type: 'oauth',
            provider: 'gitlab',
            providerAccountId: `link-${run}`,
            accessToken: `new-access-${run}`,
            refreshToken: `new-refresh-${run}`,
          },
        }),
      );
      expect(created).toMatchObject({ userId: ids.userA, provider: 'gitlab' });
      expect(created).not.toHaveProperty('accessToken');
      const insert = sent.find((sql) => sql.startsWith('INSERT INTO "public"."accounts"'));
      expect(insert).toBeDefined();
      expect(insert?.slice(insert.indexOf('RETURNING'))).not.toMatch(
        /access_token|refresh_token|id_token/,
      );
      await expect(admin.account.findUnique({ where: { id: created.id } })).resolves.toMatchObject({
        accessToken: `new-access-${run}`,
        refreshToken: `new-refresh-${run}`,
      });
      await asUserA(() => layer1.account.delete({ where: { id: created.id } }));
      await expect(admin.account.findUnique({ where: { id: created.id } })).resolves.toBeNull();
    });

    it('a user signs in: a session created through their own row', async () => {
      const updated = await asUserA(() =>
        layer1.user.update({
          where: { id: ids.userA },
          data: {
            sessions: { create: { sessionTokenHash: `signin-${run}`, expires: new Date(9e12) } },
          },
          include: { sessions: true },
        }),
      );
      expect(updated.sessions).toHaveLength(2);
      expect(updated.sessions[0]).not.toHaveProperty('sessionTokenHash');
      await expect(
        admin.session.count({ where: { userId: ids.userA, sessionTokenHash: `signin-${run}` } }),
      ).resolves.toBe(1);
    });

    it('a job acting for a user: runInTenant(id, fn, { userId })', async () => {
      await expect(
        runInTenant(ids.B, () => layer1.account.findMany({ select: { userId: true } }), {
          userId: ids.ownerB,
        }),
      ).resolves.toEqual([{ userId: ids.ownerB }]);
    });
  });
});
