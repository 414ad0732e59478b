import type { INestApplication } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  adminPrisma,
  createTenant,
  createTestApp,
  signToken,
  type TestTenant,
} from '../support/test-app';

/** The one 404 body of the API: an absent item and another workspace's item look the same. */
const NOT_FOUND = { message: 'Not found', error: 'Not Found', statusCode: 404 };
const MALFORMED_ID = {
  message: 'Validation failed (uuid is expected)',
  error: 'Bad Request',
  statusCode: 400,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const badRequest = (...message: string[]) => ({ message, error: 'Bad Request', statusCode: 400 });

let app: INestApplication;
let admin: PrismaClient;
let A: TestTenant;
let B: TestTenant;

const api = () => request(app.getHttpServer());

/** A database row as the API serializes it (dates as ISO strings). */
const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Every approval item of a workspace, straight from the database (as app_admin). */
const itemsOf = async (workspaceId: string) =>
  json(await admin.approvalItem.findMany({ where: { workspaceId }, orderBy: { id: 'asc' } }));

/** The whole approval_items table: to prove a refused request wrote nothing anywhere. */
const allItems = async () => json(await admin.approvalItem.findMany({ orderBy: { id: 'asc' } }));

async function createItem(
  tenant: TestTenant,
  data: Record<string, unknown> = { title: 'An item' },
): Promise<Record<string, unknown>> {
  const { status, body } = await api()
    .post('/approval-items')
    .set('authorization', tenant.auth)
    .send(data);
  expect(status).toBe(201);
  return body as Record<string, unknown>;
}

/** A second member of `tenant`'s workspace (added in the database), with a token for it. */
async function addMember(tenant: TestTenant): Promise<TestTenant> {
  const userId = randomUUID();
  await admin.user.create({ data: { id: userId, email: `${userId}@members.invalid` } });
  await admin.workspaceMember.create({
    data: { workspaceId: tenant.workspaceId, userId, role: 'MEMBER' },
  });
  return {
    userId,
    workspaceId: tenant.workspaceId,
    auth: `Bearer ${signToken({ sub: userId, workspaceId: tenant.workspaceId })}`,
  };
}

beforeAll(async () => {
  app = await createTestApp();
  admin = adminPrisma();
  A = await createTenant(app, 'Workspace A');
  B = await createTenant(app, 'Workspace B');
});

afterAll(async () => {
  await admin.$disconnect();
  await app.close();
});

describe('POST /approval-items', () => {
  it('creates a PENDING item in the caller workspace and answers it exactly', async () => {
    const { status, body } = await api()
      .post('/approval-items')
      .set('authorization', A.auth)
      .send({ title: 'Deploy v2', description: 'Roll out the new release' });

    expect(status).toBe(201);
    expect(body.id).toMatch(UUID);
    const row = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: A.workspaceId, id: body.id as string } },
    });
    expect(body).toEqual(json(row));
    expect(body).toEqual({
      id: body.id,
      workspaceId: A.workspaceId,
      projectId: null,
      aiProviderConfigId: null,
      title: 'Deploy v2',
      description: 'Roll out the new release',
      payload: null,
      status: 'PENDING',
      confidence: null,
      createdById: A.userId,
      decidedById: null,
      decidedAt: null,
      dueAt: null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    });
  });

  it('leaves the description null when it is not given', async () => {
    const body = await createItem(A, { title: 'No description' });

    expect(body.description).toBeNull();
    expect(body.workspaceId).toBe(A.workspaceId);
    expect(body.status).toBe('PENDING');
  });

  it('accepts a title of exactly 200 characters', async () => {
    const body = await createItem(A, { title: 't'.repeat(200) });

    expect(body.title).toBe('t'.repeat(200));
  });

  it.each([
    [{}, ['title must be longer than or equal to 1 characters', 'title must be a string']],
    [{ title: '' }, ['title must be longer than or equal to 1 characters']],
    [{ title: 't'.repeat(201) }, ['title must be shorter than or equal to 200 characters']],
    [
      { title: 42 },
      [
        'title must be longer than or equal to 1 and shorter than or equal to 200 characters',
        'title must be a string',
      ],
    ],
    [
      { title: 'ok', description: 7 },
      [
        'description must be shorter than or equal to 10000 characters',
        'description must be a string',
      ],
    ],
    [{ title: 'ok', status: 'APPROVED' }, ['property status should not exist']],
    [{ title: 'ok', priority: 'high' }, ['property priority should not exist']],
    [{ title: 'ok', createdById: randomUUID() }, ['property createdById should not exist']],
  ])('refuses %j with 400 and writes nothing', async (payload, messages) => {
    const before = await allItems();

    const { status, body } = await api()
      .post('/approval-items')
      .set('authorization', A.auth)
      .send(payload);

    expect({ status, body }).toEqual({ status: 400, body: badRequest(...messages) });
    expect(await allItems()).toEqual(before);
  });

  it.each([
    ['another workspace', () => B.workspaceId],
    ['the caller workspace', () => A.workspaceId],
    ['a workspace that does not exist', () => randomUUID()],
  ])('refuses a workspaceId naming %s with 400 and writes nothing anywhere', async (_, target) => {
    const before = await allItems();

    const { status, body } = await api()
      .post('/approval-items')
      .set('authorization', A.auth)
      .send({ title: 'Smuggled', workspaceId: target() });

    expect({ status, body }).toEqual({
      status: 400,
      body: badRequest('property workspaceId should not exist'),
    });
    expect(await allItems()).toEqual(before);
    expect(await admin.approvalItem.count({ where: { title: 'Smuggled' } })).toBe(0);
  });

  it('needs a token (401) and writes nothing', async () => {
    const before = await allItems();

    const { status, body } = await api().post('/approval-items').send({ title: 'Anonymous' });

    expect({ status, body }).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        message: 'A bearer token is required (Authorization: Bearer <JWT>)',
        error: 'Unauthorized',
      },
    });
    expect(await allItems()).toEqual(before);
  });
});

describe('GET /approval-items', () => {
  let C: TestTenant;
  /** C's 25 items in the API's order: newest first, ties by id. */
  let ordered: unknown[];

  beforeAll(async () => {
    C = await createTenant(app, 'Workspace C (paging)');
    for (let i = 0; i < 25; i++) await createItem(C, { title: `Item ${i}` });
    const rows = await admin.approvalItem.findMany({
      where: { workspaceId: C.workspaceId },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
    ordered = json(rows) as unknown[];
  });

  it('lists the caller workspace items only, newest first, 20 by default', async () => {
    const { status, body } = await api().get('/approval-items').set('authorization', C.auth);

    expect(status).toBe(200);
    expect(body).toEqual(ordered.slice(0, 20));
  });

  it('pages with take and skip', async () => {
    const first = await api().get('/approval-items?take=10&skip=0').set('authorization', C.auth);
    const second = await api().get('/approval-items?take=10&skip=10').set('authorization', C.auth);
    const third = await api().get('/approval-items?take=10&skip=20').set('authorization', C.auth);
    const beyond = await api().get('/approval-items?skip=25').set('authorization', C.auth);

    expect([first.status, second.status, third.status, beyond.status]).toEqual([
      200, 200, 200, 200,
    ]);
    expect(first.body).toEqual(ordered.slice(0, 10));
    expect(second.body).toEqual(ordered.slice(10, 20));
    expect(third.body).toEqual(ordered.slice(20, 25));
    expect(beyond.body).toEqual([]);
  });

  it('accepts take=1 and take=100', async () => {
    const one = await api().get('/approval-items?take=1').set('authorization', C.auth);
    const hundred = await api().get('/approval-items?take=100').set('authorization', C.auth);

    expect({ status: one.status, body: one.body }).toEqual({
      status: 200,
      body: ordered.slice(0, 1),
    });
    expect({ status: hundred.status, body: hundred.body }).toEqual({ status: 200, body: ordered });
  });

  it.each([
    ['take=101', ['take must not be greater than 100']],
    ['take=0', ['take must not be less than 1']],
    [
      'take=abc',
      [
        'take must not be greater than 100',
        'take must not be less than 1',
        'take must be an integer number',
      ],
    ],
    ['take=1.5', ['take must be an integer number']],
    ['skip=-1', ['skip must not be less than 0']],
    [
      'skip=abc',
      [
        'skip must not be greater than 100000',
        'skip must not be less than 0',
        'skip must be an integer number',
      ],
    ],
    [`workspaceId=${randomUUID()}`, ['property workspaceId should not exist']],
  ])('refuses ?%s with 400', async (query, messages) => {
    const { status, body } = await api()
      .get(`/approval-items?${query}`)
      .set('authorization', C.auth);

    expect({ status, body }).toEqual({ status: 400, body: badRequest(...messages) });
  });

  it("never shows another workspace's items, whatever the paging", async () => {
    const a = await api().get('/approval-items?take=100').set('authorization', A.auth);
    const b = await api().get('/approval-items?take=100').set('authorization', B.auth);

    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body).toEqual(
      json(
        await admin.approvalItem.findMany({
          where: { workspaceId: A.workspaceId },
          orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        }),
      ),
    );
    expect(
      (b.body as { workspaceId: string }[]).every((i) => i.workspaceId === B.workspaceId),
    ).toBe(true);
    expect(b.body).toHaveLength(
      await admin.approvalItem.count({ where: { workspaceId: B.workspaceId } }),
    );
  });

  it('needs a token (401)', async () => {
    const { status, body } = await api().get('/approval-items');

    expect({ status, body }).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        message: 'A bearer token is required (Authorization: Bearer <JWT>)',
        error: 'Unauthorized',
      },
    });
  });
});

describe('GET /approval-items/:id', () => {
  it('answers the item of the caller workspace', async () => {
    const created = await createItem(A, { title: 'Readable' });

    const { status, body } = await api()
      .get(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth);

    expect({ status, body }).toEqual({ status: 200, body: created });
  });

  it('answers the same item for an upper-case id', async () => {
    const created = await createItem(A, { title: 'Upper-case id' });

    const { status, body } = await api()
      .get(`/approval-items/${(created.id as string).toUpperCase()}`)
      .set('authorization', A.auth);

    expect({ status, body }).toEqual({ status: 200, body: created });
  });

  it("answers 404 for another workspace's item, byte for byte like an absent one", async () => {
    const created = await createItem(A, { title: 'Hidden from B' });

    const foreign = await api()
      .get(`/approval-items/${created.id as string}`)
      .set('authorization', B.auth);
    const absent = await api().get(`/approval-items/${randomUUID()}`).set('authorization', B.auth);

    expect({ status: foreign.status, body: foreign.body }).toEqual({
      status: 404,
      body: NOT_FOUND,
    });
    expect({ status: absent.status, body: absent.body }).toEqual({ status: 404, body: NOT_FOUND });
    expect(foreign.text).toBe(absent.text);
    expect(foreign.text).toBe('{"message":"Not found","error":"Not Found","statusCode":404}');
  });

  it('refuses a malformed id with 400', async () => {
    const { status, body } = await api()
      .get('/approval-items/not-a-uuid')
      .set('authorization', A.auth);

    expect({ status, body }).toEqual({ status: 400, body: MALFORMED_ID });
  });
});

describe('PATCH /approval-items/:id', () => {
  it('updates title and description and answers the stored item', async () => {
    const created = await createItem(A, { title: 'Before' });

    const { status, body } = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth)
      .send({ title: 'After', description: 'Changed' });

    const row = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: A.workspaceId, id: created.id as string } },
    });
    expect({ status, body }).toEqual({ status: 200, body: json(row) });
    expect(row).toMatchObject({ title: 'After', description: 'Changed', status: 'PENDING' });
    expect(row.workspaceId).toBe(A.workspaceId);
  });

  it('records who decided and when on APPROVED, and clears both on PENDING', async () => {
    const created = await createItem(A, { title: 'Decide me' });
    const reviewer = await addMember(A);

    const before = Date.now();
    const approved = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', reviewer.auth)
      .send({ status: 'APPROVED' });
    const after = Date.now();

    expect(approved.status).toBe(200);
    const approvedRow = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: A.workspaceId, id: created.id as string } },
    });
    expect(approved.body).toEqual(json(approvedRow));
    expect(approvedRow.status).toBe('APPROVED');
    expect(approvedRow.decidedById).toBe(reviewer.userId);
    expect(approvedRow.createdById).toBe(A.userId);
    expect(approvedRow.decidedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(approvedRow.decidedAt!.getTime()).toBeLessThanOrEqual(after + 1000);

    const pending = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth)
      .send({ status: 'PENDING' });

    const pendingRow = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: A.workspaceId, id: created.id as string } },
    });
    expect({ status: pending.status, body: pending.body }).toEqual({
      status: 200,
      body: json(pendingRow),
    });
    expect(pendingRow).toMatchObject({ status: 'PENDING', decidedAt: null, decidedById: null });
  });

  it('records the caller on REJECTED too', async () => {
    const created = await createItem(A, { title: 'Reject me' });

    const { status, body } = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth)
      .send({ status: 'REJECTED' });

    expect(status).toBe(200);
    expect(body.status).toBe('REJECTED');
    expect(body.decidedById).toBe(A.userId);
    expect(typeof body.decidedAt).toBe('string');
  });

  it.each([
    [
      { status: 'DONE' },
      ['status must be one of the following values: PENDING, APPROVED, REJECTED'],
    ],
    [{ title: '' }, ['title must be longer than or equal to 1 characters']],
    [{ title: 't'.repeat(201) }, ['title must be shorter than or equal to 200 characters']],
    [{ decidedById: randomUUID() }, ['property decidedById should not exist']],
    [{ createdById: randomUUID() }, ['property createdById should not exist']],
    [{ id: randomUUID() }, ['property id should not exist']],
  ])('refuses %j with 400 and changes nothing', async (payload, messages) => {
    const created = await createItem(A, { title: 'Untouchable' });
    const before = await allItems();

    const { status, body } = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth)
      .send(payload);

    expect({ status, body }).toEqual({ status: 400, body: badRequest(...messages) });
    expect(await allItems()).toEqual(before);
  });

  it.each([
    ['another workspace', () => B.workspaceId],
    ['the caller workspace', () => A.workspaceId],
  ])('refuses a workspaceId naming %s with 400: the item does not move', async (_, target) => {
    const created = await createItem(A, { title: 'Stays in A' });
    const before = await allItems();

    const { status, body } = await api()
      .patch(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth)
      .send({ title: 'Moved?', workspaceId: target() });

    expect({ status, body }).toEqual({
      status: 400,
      body: badRequest('property workspaceId should not exist'),
    });
    expect(await allItems()).toEqual(before);
    const row = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: A.workspaceId, id: created.id as string } },
    });
    expect(row).toMatchObject({ workspaceId: A.workspaceId, title: 'Stays in A' });
  });

  it('answers 404 for an absent item and 400 for a malformed id', async () => {
    const absent = await api()
      .patch(`/approval-items/${randomUUID()}`)
      .set('authorization', A.auth)
      .send({ title: 'x' });
    const malformed = await api()
      .patch('/approval-items/123')
      .set('authorization', A.auth)
      .send({ title: 'x' });

    expect({ status: absent.status, body: absent.body }).toEqual({ status: 404, body: NOT_FOUND });
    expect({ status: malformed.status, body: malformed.body }).toEqual({
      status: 400,
      body: MALFORMED_ID,
    });
  });
});

describe('DELETE /approval-items/:id', () => {
  it('deletes once (204, empty body), then answers 404', async () => {
    const created = await createItem(A, { title: 'Delete me' });

    const first = await api()
      .delete(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth);
    expect({ status: first.status, text: first.text }).toEqual({ status: 204, text: '' });
    expect(
      await admin.approvalItem.findUnique({
        where: { workspaceId_id: { workspaceId: A.workspaceId, id: created.id as string } },
      }),
    ).toBeNull();

    const second = await api()
      .delete(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth);
    expect({ status: second.status, body: second.body }).toEqual({ status: 404, body: NOT_FOUND });

    const read = await api()
      .get(`/approval-items/${created.id as string}`)
      .set('authorization', A.auth);
    expect({ status: read.status, body: read.body }).toEqual({ status: 404, body: NOT_FOUND });
  });

  it('refuses a malformed id with 400', async () => {
    const { status, body } = await api()
      .delete('/approval-items/nope')
      .set('authorization', A.auth);

    expect({ status, body }).toEqual({ status: 400, body: MALFORMED_ID });
  });
});

describe("workspace B against workspace A's items", () => {
  let target: Record<string, unknown>;
  let aBefore: unknown;
  let bBefore: unknown;

  beforeAll(async () => {
    target = await createItem(A, { title: 'Owned by A', description: 'A only' });
    aBefore = await itemsOf(A.workspaceId);
    bBefore = await itemsOf(B.workspaceId);
  });

  afterEach(async () => {
    // Whatever B tried, A's data is exactly as it was (checked as app_admin, behind both layers).
    expect(await itemsOf(A.workspaceId)).toEqual(aBefore);
  });

  it('GET /approval-items lists none of them', async () => {
    const { status, body } = await api()
      .get('/approval-items?take=100')
      .set('authorization', B.auth);

    expect({ status, body }).toEqual({ status: 200, body: expect.any(Array) });
    const ids = (body as { id: string; workspaceId: string }[]).map((i) => i.id);
    expect(ids).not.toContain(target.id);
    expect(
      (body as { workspaceId: string }[]).filter((i) => i.workspaceId !== B.workspaceId),
    ).toEqual([]);
  });

  it('GET /approval-items/:id answers 404', async () => {
    const { status, body } = await api()
      .get(`/approval-items/${target.id as string}`)
      .set('authorization', B.auth);

    expect({ status, body }).toEqual({ status: 404, body: NOT_FOUND });
  });

  it('PATCH /approval-items/:id answers 404, like an absent id, and changes nothing', async () => {
    const foreign = await api()
      .patch(`/approval-items/${target.id as string}`)
      .set('authorization', B.auth)
      .send({ title: 'Hijacked', status: 'APPROVED' });
    const absent = await api()
      .patch(`/approval-items/${randomUUID()}`)
      .set('authorization', B.auth)
      .send({ title: 'Hijacked', status: 'APPROVED' });

    expect({ status: foreign.status, body: foreign.body }).toEqual({
      status: 404,
      body: NOT_FOUND,
    });
    expect(foreign.text).toBe(absent.text);
    expect(await itemsOf(B.workspaceId)).toEqual(bBefore);
  });

  it('DELETE /approval-items/:id answers 404, like an absent id, and deletes nothing', async () => {
    const foreign = await api()
      .delete(`/approval-items/${target.id as string}`)
      .set('authorization', B.auth);
    const absent = await api()
      .delete(`/approval-items/${randomUUID()}`)
      .set('authorization', B.auth);

    expect({ status: foreign.status, body: foreign.body }).toEqual({
      status: 404,
      body: NOT_FOUND,
    });
    expect(foreign.text).toBe(absent.text);
  });

  it('POST /approval-items with workspaceId A answers 400 and creates nothing anywhere', async () => {
    const before = await allItems();

    const { status, body } = await api()
      .post('/approval-items')
      .set('authorization', B.auth)
      .send({ title: 'Planted in A', workspaceId: A.workspaceId });

    expect({ status, body }).toEqual({
      status: 400,
      body: badRequest('property workspaceId should not exist'),
    });
    expect(await allItems()).toEqual(before);
  });

  it('PATCH of its own item with workspaceId A answers 400 and moves nothing', async () => {
    const own = await createItem(B, { title: 'B item' });
    const before = await allItems();

    const { status, body } = await api()
      .patch(`/approval-items/${own.id as string}`)
      .set('authorization', B.auth)
      .send({ workspaceId: A.workspaceId });

    expect({ status, body }).toEqual({
      status: 400,
      body: badRequest('property workspaceId should not exist'),
    });
    expect(await allItems()).toEqual(before);
    bBefore = await itemsOf(B.workspaceId);
  });

  it("B's user with a token naming workspace A is refused (403) on every endpoint", async () => {
    const forged = `Bearer ${signToken({ sub: B.userId, workspaceId: A.workspaceId })}`;
    const forbidden = {
      statusCode: 403,
      message: 'You are not a member of this tenant',
      error: 'Forbidden',
    };
    const id = target.id as string;

    const responses = [
      await api().post('/approval-items').set('authorization', forged).send({ title: 'x' }),
      await api().get('/approval-items').set('authorization', forged),
      await api().get(`/approval-items/${id}`).set('authorization', forged),
      await api().patch(`/approval-items/${id}`).set('authorization', forged).send({ title: 'x' }),
      await api().delete(`/approval-items/${id}`).set('authorization', forged),
    ];

    expect(responses.map(({ status, body }) => ({ status, body }))).toEqual(
      Array(5).fill({ status: 403, body: forbidden }),
    );
  });
});
