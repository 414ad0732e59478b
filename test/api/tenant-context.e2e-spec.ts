import { Controller, Get, type INestApplication, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { PrismaClient } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  InjectTenantPrisma,
  InvalidTenantIdError,
  MissingTenantContextError,
  PrismaExceptionFilter,
  PrismaModule,
  runInTenant,
  SystemClientUnavailableError,
  SystemPrisma,
  TENANT_PRISMA_CLIENT,
  tenantContext,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import {
  adminPrisma,
  createTenant,
  createTestApp,
  signToken,
  TEST_JWT_SECRET,
  type TestTenant,
} from '../support/test-app';

interface Item {
  id: string;
  workspaceId: string;
  title: string;
  createdById: string | null;
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

let app: INestApplication;
let admin: PrismaClient;
let baseUrl: string;

beforeAll(async () => {
  app = await createTestApp();
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as http.Server;
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  admin = adminPrisma();
});

afterAll(async () => {
  await admin.$disconnect();
  await app.close();
});

describe('concurrent requests from 8 workspaces', () => {
  const PER_TENANT = 50;
  let tenants: TestTenant[];

  beforeAll(async () => {
    tenants = [];
    for (let i = 0; i < 8; i++) tenants.push(await createTenant(app, `Concurrent ${i}`));
  });

  it('each see and write only their own rows, in 400 interleaved requests', async () => {
    const calls = Array.from({ length: tenants.length * PER_TENANT }, (_, i) => {
      const tenant = tenants[i % tenants.length];
      const kind = Math.floor(i / tenants.length) % 3;
      if (kind === 0) {
        const title = `t${i % tenants.length}-req${i}`;
        return request(baseUrl)
          .post('/approval-items')
          .set('authorization', tenant.auth)
          .send({ title })
          .then(({ status, body }) => ({ tenant, kind: 'create' as const, status, body, title }));
      }
      if (kind === 1) {
        return request(baseUrl)
          .get('/approval-items?take=100')
          .set('authorization', tenant.auth)
          .then(({ status, body }) => ({ tenant, kind: 'list' as const, status, body, title: '' }));
      }
      return request(baseUrl)
        .get('/workspaces/current')
        .set('authorization', tenant.auth)
        .then(({ status, body }) => ({
          tenant,
          kind: 'current' as const,
          status,
          body,
          title: '',
        }));
    });

    const results = await Promise.all(calls);

    expect(results.filter((r) => r.status !== (r.kind === 'create' ? 201 : 200))).toEqual([]);
    for (const { tenant, kind, body, title } of results) {
      if (kind === 'create') {
        expect(body).toMatchObject({
          workspaceId: tenant.workspaceId,
          createdById: tenant.userId,
          title,
        });
      } else if (kind === 'list') {
        const foreign = (body as Item[]).filter((item) => item.workspaceId !== tenant.workspaceId);
        expect(foreign).toEqual([]);
      } else {
        expect((body as { id: string }).id).toBe(tenant.workspaceId);
      }
    }

    // Afterwards: every workspace has exactly the items its own requests created.
    for (const [index, tenant] of tenants.entries()) {
      const expectedTitles = results
        .filter((r) => r.kind === 'create' && r.tenant === tenant)
        .map((r) => r.title)
        .sort();
      expect(expectedTitles.every((t) => t.startsWith(`t${index}-`))).toBe(true);

      const { status, body } = await request(baseUrl)
        .get('/approval-items?take=100')
        .set('authorization', tenant.auth);
      expect(status).toBe(200);
      expect((body as Item[]).map((item) => item.title).sort()).toEqual(expectedTitles);

      const rows = await admin.approvalItem.findMany({
        where: { workspaceId: tenant.workspaceId },
        select: { title: true },
      });
      expect(rows.map((row) => row.title).sort()).toEqual(expectedTitles);
    }
    expect(
      await admin.approvalItem.count({
        where: { workspaceId: { in: tenants.map((t) => t.workspaceId) } },
      }),
    ).toBe(results.filter((r) => r.kind === 'create').length);
  });

  it('answer 200 for their own item and 404 for every other one, asked all at once', async () => {
    const items = await admin.approvalItem.findMany({
      where: { workspaceId: { in: tenants.map((t) => t.workspaceId) } },
      distinct: ['workspaceId'],
      select: { id: true, workspaceId: true },
    });
    expect(items).toHaveLength(tenants.length);
    const pairs = tenants.flatMap((tenant) => items.map((item) => ({ tenant, item })));

    const results = await Promise.all(
      [...pairs, ...pairs].map(({ tenant, item }) =>
        request(baseUrl)
          .get(`/approval-items/${item.id}`)
          .set('authorization', tenant.auth)
          .then(({ status, body }) => ({ tenant, item, status, body: body as Item })),
      ),
    );

    const wrong = results.filter(({ tenant, item, status, body }) =>
      tenant.workspaceId === item.workspaceId
        ? status !== 200 || body.id !== item.id || body.workspaceId !== tenant.workspaceId
        : status !== 404,
    );
    expect(wrong).toEqual([]);
  });

  it('findUnique calls of 8 tenants in one tick (Prisma batches them) stay apart', async () => {
    const prisma = app.get<TenantPrismaClient>(TENANT_PRISMA_CLIENT);
    const items = await admin.approvalItem.findMany({
      where: { workspaceId: { in: tenants.map((t) => t.workspaceId) } },
      distinct: ['workspaceId'],
      select: { id: true, workspaceId: true },
    });

    const results = await Promise.all(
      tenants.flatMap((tenant) =>
        items.map((item) =>
          runInTenant(tenant.workspaceId, () =>
            prisma.approvalItem.findUnique({
              where: { id: item.id },
              select: { workspaceId: true },
            }),
          ).then((found) => ({ tenant: tenant.workspaceId, owner: item.workspaceId, found })),
        ),
      ),
    );

    expect(
      results.filter(({ tenant, owner, found }) =>
        tenant === owner ? found?.workspaceId !== tenant : found !== null,
      ),
    ).toEqual([]);
  });
});

describe('the context of a request never reaches a later one', () => {
  let A: TestTenant;
  let B: TestTenant;
  let agent: http.Agent;

  /** One request on `agent`; `reused` tells whether it went over an already used connection. */
  function send(
    method: string,
    path: string,
    authorization?: string,
    payload?: unknown,
  ): Promise<{ status: number; body: unknown; reused: boolean }> {
    return new Promise((resolve, reject) => {
      const data = payload === undefined ? undefined : JSON.stringify(payload);
      const req = http.request(
        `${baseUrl}${path}`,
        {
          method,
          agent,
          headers: {
            ...(authorization ? { authorization } : {}),
            ...(data ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: text ? JSON.parse(text) : undefined,
              reused: req.reusedSocket,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  beforeAll(async () => {
    A = await createTenant(app, 'Leak A');
    B = await createTenant(app, 'Leak B');
    await request(baseUrl)
      .post('/approval-items')
      .set('authorization', A.auth)
      .send({ title: 'A1' });
    await request(baseUrl)
      .post('/approval-items')
      .set('authorization', B.auth)
      .send({ title: 'B1' });
  });

  beforeEach(() => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });

  afterEach(() => {
    agent.destroy();
  });

  it('a tenant request, then one without token on the same connection: 401', async () => {
    const first = await send('GET', '/approval-items', A.auth);
    const second = await send('GET', '/approval-items');
    const third = await send('POST', '/approval-items', undefined, { title: 'Orphan' });

    expect(first.status).toBe(200);
    expect([second, third]).toEqual([
      {
        status: 401,
        body: {
          statusCode: 401,
          message: 'A bearer token is required (Authorization: Bearer <JWT>)',
          error: 'Unauthorized',
        },
        reused: true,
      },
      {
        status: 401,
        body: {
          statusCode: 401,
          message: 'A bearer token is required (Authorization: Bearer <JWT>)',
          error: 'Unauthorized',
        },
        reused: true,
      },
    ]);
    expect(await admin.approvalItem.count({ where: { title: 'Orphan' } })).toBe(0);
  });

  it("a tenant request, then another tenant's: the second sees only its own rows", async () => {
    const first = await send('GET', '/approval-items', A.auth);
    const second = await send('GET', '/approval-items', B.auth);
    const third = await send('POST', '/approval-items', B.auth, { title: 'B2' });
    const fourth = await send('GET', '/workspaces/current', B.auth);

    expect(first).toEqual({
      status: 200,
      body: json(await admin.approvalItem.findMany({ where: { workspaceId: A.workspaceId } })),
      reused: false,
    });
    expect(second).toEqual({
      status: 200,
      body: json(
        await admin.approvalItem.findMany({ where: { workspaceId: B.workspaceId, title: 'B1' } }),
      ),
      reused: true,
    });
    expect(third).toMatchObject({
      status: 201,
      body: { workspaceId: B.workspaceId },
      reused: true,
    });
    expect(fourth).toMatchObject({ status: 200, body: { id: B.workspaceId }, reused: true });
  });

  it('a tenant request, then a user-only one: the new workspace is not created in the old one', async () => {
    const userId = randomUUID();
    const first = await send('GET', '/approval-items', A.auth);
    const second = await send('POST', '/workspaces', `Bearer ${signToken({ sub: userId })}`, {
      name: 'After A',
    });
    const third = await send('GET', '/workspaces/current', `Bearer ${signToken({ sub: userId })}`);

    expect(first.status).toBe(200);
    expect(second).toMatchObject({ status: 201, reused: true });
    const created = second.body as { id: string };
    expect(created.id).not.toBe(A.workspaceId);
    expect(
      await admin.workspaceMember.findMany({ where: { userId }, select: { workspaceId: true } }),
    ).toEqual([{ workspaceId: created.id }]);
    expect(third).toMatchObject({ status: 403, reused: true });
  });
});

describe('runInTenant in a job (outside any request)', () => {
  let A: TestTenant;
  let B: TestTenant;
  let prisma: TenantPrismaClient;

  beforeAll(async () => {
    A = await createTenant(app, 'Job A');
    B = await createTenant(app, 'Job B');
    prisma = app.get<TenantPrismaClient>(TENANT_PRISMA_CLIENT);
  });

  it('writes into the given workspace, visible there through the API and nowhere else', async () => {
    const created = await runInTenant(A.workspaceId, () =>
      prisma.approvalItem.create({ data: { title: 'From a job' } }),
    );

    expect(created.workspaceId).toBe(A.workspaceId);
    expect(tenantContext.getTenantId()).toBeUndefined();
    const inA = await request(baseUrl)
      .get(`/approval-items/${created.id}`)
      .set('authorization', A.auth);
    const inB = await request(baseUrl)
      .get(`/approval-items/${created.id}`)
      .set('authorization', B.auth);
    expect({ status: inA.status, body: inA.body }).toEqual({ status: 200, body: json(created) });
    expect({ status: inB.status, body: inB.body }).toEqual({
      status: 404,
      body: { message: 'Not found', error: 'Not Found', statusCode: 404 },
    });
  });

  it('reads only the given workspace, and nested calls switch and restore it', async () => {
    await runInTenant(B.workspaceId, () =>
      prisma.approvalItem.create({ data: { title: 'B job item' } }),
    );

    const seen = await runInTenant(A.workspaceId, async () => {
      const outer = await prisma.approvalItem.findMany({ select: { workspaceId: true } });
      const inner = await runInTenant(B.workspaceId, () =>
        prisma.approvalItem.findMany({ select: { workspaceId: true } }),
      );
      const after = await prisma.approvalItem.findMany({ select: { workspaceId: true } });
      return { outer, inner, after, tenant: tenantContext.getTenantId() };
    });

    expect(seen.tenant).toBe(A.workspaceId);
    expect(seen.outer.length).toBeGreaterThan(0);
    expect(seen.outer.every((i) => i.workspaceId === A.workspaceId)).toBe(true);
    expect(seen.inner.length).toBeGreaterThan(0);
    expect(seen.inner.every((i) => i.workspaceId === B.workspaceId)).toBe(true);
    expect(seen.after).toEqual(seen.outer);
  });

  it('fails closed without a tenant, for a query awaited outside the callback, and for a bad id', async () => {
    const before = await admin.approvalItem.count();

    await expect(prisma.approvalItem.findMany()).rejects.toBeInstanceOf(MissingTenantContextError);
    await expect(
      prisma.approvalItem.create({ data: { title: 'No tenant' } }),
    ).rejects.toBeInstanceOf(MissingTenantContextError);
    const escaped = await runInTenant(A.workspaceId, () => ({
      query: prisma.approvalItem.create({ data: { title: 'Escaped' } }),
    }));
    await expect(escaped.query).rejects.toBeInstanceOf(MissingTenantContextError);
    await expect(
      runInTenant('not-a-uuid', () => prisma.approvalItem.findMany()),
    ).rejects.toBeInstanceOf(InvalidTenantIdError);

    expect(await admin.approvalItem.count()).toBe(before);
  });
});

describe('a handler without @TenantScoped() that uses the tenant client', () => {
  const LEAK = `leak-${randomUUID()}`;

  @Controller('unscoped')
  class UnscopedController {
    constructor(@InjectTenantPrisma() private readonly prisma: TenantPrismaClient) {}

    @Post()
    create() {
      return this.prisma.approvalItem.create({ data: { title: LEAK } });
    }

    @Get()
    list() {
      return this.prisma.approvalItem.findMany();
    }

    @Get('raw')
    raw() {
      return this.prisma.$queryRaw`SELECT count(*)::int AS n FROM approval_items`;
    }

    @Get('workspace')
    workspace() {
      return this.prisma.workspace.findMany();
    }
  }

  const FAIL_CLOSED = {
    statusCode: 403,
    message: 'This endpoint needs a tenant context',
    error: 'Forbidden',
  };
  let unscoped: INestApplication;
  let A: TestTenant;

  beforeAll(async () => {
    A = await createTenant(app, 'Unscoped A');
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClsModule.forRoot({ global: true, middleware: { mount: true } }),
        PrismaModule.forRoot({ jwt: { secret: TEST_JWT_SECRET }, log: [] }),
      ],
      controllers: [UnscopedController],
      providers: [{ provide: APP_FILTER, useClass: PrismaExceptionFilter }],
    }).compile();
    unscoped = moduleRef.createNestApplication({ logger: false });
    await unscoped.init();
  });

  afterAll(async () => {
    await unscoped.close();
  });

  it.each([
    ['POST /unscoped', 'post', '/unscoped'],
    ['GET /unscoped', 'get', '/unscoped'],
    ['GET /unscoped/raw', 'get', '/unscoped/raw'],
    ['GET /unscoped/workspace', 'get', '/unscoped/workspace'],
  ] as const)(
    '%s answers 403 and writes nothing, even with a valid token',
    async (_, method, path) => {
      const before = await admin.approvalItem.count();

      const anonymous = await request(unscoped.getHttpServer())[method](path);
      const withToken = await request(unscoped.getHttpServer())
        [method](path)
        .set('authorization', A.auth);

      expect({ status: anonymous.status, body: anonymous.body }).toEqual({
        status: 403,
        body: FAIL_CLOSED,
      });
      expect({ status: withToken.status, body: withToken.body }).toEqual({
        status: 403,
        body: FAIL_CLOSED,
      });
      expect(anonymous.text).toBe(
        '{"message":"This endpoint needs a tenant context","error":"Forbidden","statusCode":403}',
      );
      expect(await admin.approvalItem.count()).toBe(before);
      expect(await admin.approvalItem.count({ where: { title: LEAK } })).toBe(0);
    },
  );
});

describe('the system client', () => {
  let A: TestTenant;
  let B: TestTenant;

  beforeAll(async () => {
    A = await createTenant(app, 'System A');
    B = await createTenant(app, 'System B');
    await request(baseUrl)
      .post('/approval-items')
      .set('authorization', A.auth)
      .send({ title: 'SA' });
    await request(baseUrl)
      .post('/approval-items')
      .set('authorization', B.auth)
      .send({ title: 'SB' });
  });

  it("forReason('audit') sees both workspaces' items", async () => {
    const system = app.get(SystemPrisma).forReason('audit');

    const items = await system.approvalItem.findMany({
      where: { workspaceId: { in: [A.workspaceId, B.workspaceId] } },
      orderBy: { id: 'asc' },
    });

    expect(items).toEqual(
      await admin.approvalItem.findMany({
        where: { workspaceId: { in: [A.workspaceId, B.workspaceId] } },
        orderBy: { id: 'asc' },
      }),
    );
    expect(items.map((i) => [i.workspaceId, i.title]).sort()).toEqual(
      [
        [A.workspaceId, 'SA'],
        [B.workspaceId, 'SB'],
      ].sort(),
    );
  });

  it.each(['', '  ', 'ab'])('forReason(%j) throws SystemClientUnavailableError', (reason) => {
    const system = app.get(SystemPrisma);

    expect(() => system.forReason(reason)).toThrow(SystemClientUnavailableError);
    expect(() => system.forReason(reason)).toThrow(
      'The system (cross-tenant) client cannot be used: a reason (at least 3 characters) is required.',
    );
  });
});
