import {
  BadRequestException,
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Injectable,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { PrismaClient } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  InjectTenantPrisma,
  PrismaConnection,
  PrismaModule,
  TenantScoped,
  type PrismaModuleOptions,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { adminPrisma } from '../support/test-app';

/** The app's own authentication: `x-user: <user>:<workspace>` becomes `req.user`. */
@Injectable()
class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: object }>();
    const [id, workspaceId] = (req.headers['x-user'] ?? '').split(':');
    if (id) req.user = { id, workspaceId };
    return true;
  }
}

/** An app guard after TenantGuard that reads the database: its statement carries the check. */
@Injectable()
class ProjectCountGuard implements CanActivate {
  constructor(@InjectTenantPrisma() private readonly prisma: TenantPrismaClient) {}

  async canActivate(): Promise<boolean> {
    return (await this.prisma.project.count()) >= 0;
  }
}

/** Every kind of first statement a handler may send, and handlers that send none. */
@Controller('projects')
@TenantScoped()
@UseGuards(HeaderAuthGuard)
class ProjectsController {
  constructor(@InjectTenantPrisma() private readonly prisma: TenantPrismaClient) {}

  @Get()
  async list() {
    const rows = await this.prisma.project.findMany({ select: { name: true } });
    return rows.map((row) => row.name).sort();
  }

  @Post()
  create(@Body() body: { name: string }) {
    return this.prisma.project.create({
      data: { name: body.name, slug: randomUUID() },
      select: { name: true },
    });
  }

  /** A lookup by id: Prisma batches it, so the check rides on the batch. */
  @Get('by-id/:id')
  one(@Param('id') id: string) {
    return this.prisma.project.findUnique({ where: { id }, select: { name: true } });
  }

  /** An interactive transaction: the check rides on its first statement. */
  @Post('in-transaction')
  inTransaction(@Body() body: { name: string }) {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.project.count();
      await tx.project.create({ data: { name: body.name, slug: randomUUID() } });
      return { before };
    });
  }

  @Get('guarded')
  @UseGuards(ProjectCountGuard)
  guarded() {
    return { answer: 'guarded' };
  }

  @Get('static')
  static() {
    return { answer: 42 };
  }

  @Post('invalid')
  invalid() {
    throw new BadRequestException('Nothing here is valid');
  }
}

let admin: PrismaClient;
const workspace = randomUUID();
const member = randomUUID();
const removed = randomUUID();

beforeAll(async () => {
  admin = adminPrisma();
  await admin.user.createMany({
    data: [member, removed].map((id) => ({ id, email: `${id}@membership-check.test` })),
  });
  await admin.workspace.create({
    data: { id: workspace, name: 'W', slug: `membership-check-${workspace}` },
  });
  await admin.workspaceMember.createMany({
    data: [member, removed].map((userId) => ({ workspaceId: workspace, userId })),
  });
  await admin.project.create({
    data: { id: randomUUID(), workspaceId: workspace, name: 'seed', slug: 'seed' },
  });
});

afterAll(async () => {
  await admin.workspace.deleteMany({ where: { id: workspace } });
  await admin.user.deleteMany({ where: { id: { in: [member, removed] } } });
  await admin.$disconnect();
});

async function appWith(options: PrismaModuleOptions = {}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClsModule.forRoot({ global: true, middleware: { mount: true } }),
      PrismaModule.forRoot({
        isGlobal: true,
        rlsCheck: 'off',
        log: ['error'],
        auth: { resolve: 'request', tenantIdPath: 'user.workspaceId' },
        ...options,
      }),
    ],
    controllers: [ProjectsController],
  }).compile();
  // No PrismaExceptionFilter: the library's 403 must not depend on the app registering it.
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Counts the tenant pool's connection checkouts (one per round trip of a single statement). */
function checkouts(app: INestApplication): { count: () => number; stop: () => void } {
  const pool = app.get(PrismaConnection).tenantPool;
  let count = 0;
  const onAcquire = () => (count += 1);
  pool.on('acquire', onAcquire);
  return { count: () => count, stop: () => pool.removeListener('acquire', onAcquire) };
}

const projectNames = async () =>
  (await admin.project.findMany({ where: { workspaceId: workspace }, select: { name: true } }))
    .map((p) => p.name)
    .sort();

describe("membership.checkAt: 'first-query' (the default)", () => {
  let app: INestApplication;
  const as = (user: string) => `${user}:${workspace}`;

  beforeAll(async () => {
    app = await appWith();
  });

  afterAll(async () => {
    await app.close();
  });

  it("a member's read is one checkout: the membership lookup rode on the query", async () => {
    const counter = checkouts(app);
    try {
      const res = await request(app.getHttpServer()).get('/projects').set('x-user', as(member));

      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 200,
        body: ['seed'],
      });
      expect(counter.count()).toBe(1);
    } finally {
      counter.stop();
    }
  });

  it('a member passes on every kind of first statement', async () => {
    const server = app.getHttpServer();
    const [seed] = await admin.project.findMany({
      where: { workspaceId: workspace, slug: 'seed' },
    });
    const byId = await request(server).get(`/projects/by-id/${seed.id}`).set('x-user', as(member));
    const created = await request(server)
      .post('/projects')
      .set('x-user', as(member))
      .send({ name: 'by member' });
    const tx = await request(server)
      .post('/projects/in-transaction')
      .set('x-user', as(member))
      .send({ name: 'in tx' });
    const none = await request(server).get('/projects/static').set('x-user', as(member));

    expect([byId.status, byId.body]).toEqual([200, { name: 'seed' }]);
    expect([created.status, created.body]).toEqual([201, { name: 'by member' }]);
    expect([tx.status, tx.body]).toEqual([201, { before: 2 }]);
    expect([none.status, none.body]).toEqual([200, { answer: 42 }]);
    expect(await projectNames()).toEqual(['by member', 'in tx', 'seed']);
  });

  describe('a removed member', () => {
    beforeAll(async () => {
      await admin.workspaceMember.deleteMany({
        where: { workspaceId: workspace, userId: removed },
      });
    });

    const forbidden = {
      statusCode: 403,
      message: 'You are not a member of this tenant',
      error: 'Forbidden',
    };

    it.each([
      ['a list', 'get', '/projects'],
      ['a lookup by id (batched)', 'get', `/projects/by-id/${randomUUID()}`],
      ['a create', 'post', '/projects'],
      ['an interactive transaction', 'post', '/projects/in-transaction'],
      ['a handler without any statement', 'get', '/projects/static'],
      ["an app guard's statement, before the handler", 'get', '/projects/guarded'],
      ['a handler that fails without any statement', 'post', '/projects/invalid'],
    ] as const)('gets 403 on the next request: %s', async (_label, method, path) => {
      const before = await projectNames();
      const res = await request(app.getHttpServer())
        [method](path)
        .set('x-user', as(removed))
        .send({ name: 'by removed member' });

      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 403,
        body: forbidden,
      });
      // Nothing was written: the refused check and the write share one transaction.
      expect(await projectNames()).toEqual(before);
    });
  });
});

describe("membership.checkAt: 'guard'", () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await appWith({ membership: { checkAt: 'guard' } });
  });

  afterAll(async () => {
    await app.close();
  });

  it('checks before the handler, as its own statement: one checkout for a handler without statements, two for a read', async () => {
    const counter = checkouts(app);
    try {
      const res = await request(app.getHttpServer())
        .get('/projects/static')
        .set('x-user', `${member}:${workspace}`);
      const list = await request(app.getHttpServer())
        .get('/projects')
        .set('x-user', `${member}:${workspace}`);

      expect([res.status, list.status]).toEqual([200, 200]);
      // The static handler's check, then the list's check and its query.
      expect(counter.count()).toBe(3);
    } finally {
      counter.stop();
    }
  });

  it('refuses a non-member before the handler', async () => {
    const stranger = randomUUID();
    const res = await request(app.getHttpServer())
      .get('/projects/static')
      .set('x-user', `${stranger}:${workspace}`);

    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 403,
      body: { statusCode: 403, message: 'You are not a member of this tenant', error: 'Forbidden' },
    });
  });
});
