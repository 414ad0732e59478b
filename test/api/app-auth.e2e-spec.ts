import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { PrismaClient } from '@prisma/client';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { ClsModule } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  Authenticated,
  InjectTenantPrisma,
  PrismaModule,
  tenantContext,
  TenantScoped,
  type PrismaModuleOptions,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';
import { adminPrisma } from '../support/test-app';

/**
 * The app's own authentication, as a Passport strategy's guard would do it: `x-user: <id>:<org>`
 * becomes `req.user = { id, orgId }`; without the header the guard lets the request through
 * unauthenticated (so that the library's answer to "no user" is what is tested).
 */
@Injectable()
class FakePassportGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: object }>();
    const header = req.headers['x-user'];
    if (header) {
      const [id, orgId] = header.split(':');
      req.user = { id, orgId };
    }
    return true;
  }
}

/** `@TenantScoped()` written above the app's guard: the app's guard runs first. */
@Controller()
@TenantScoped()
@UseGuards(FakePassportGuard)
class ProjectsController {
  constructor(@InjectTenantPrisma() private readonly prisma: TenantPrismaClient) {}

  @Get('projects')
  async projects() {
    const rows = await this.prisma.project.findMany({ select: { name: true } });
    return rows.map((row) => row.name).sort();
  }

  @Get('me')
  @Authenticated()
  me() {
    return { userId: tenantContext.getUserId(), tenantId: tenantContext.getTenantId() ?? null };
  }
}

const JWT_ENV = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE'];

async function appWith(options: PrismaModuleOptions): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClsModule.forRoot({ global: true, middleware: { mount: true } }),
      PrismaModule.forRoot({ isGlobal: true, rlsCheck: 'off', log: ['error'], ...options }),
    ],
    controllers: [ProjectsController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}

interface Org {
  id: string;
  member: string;
}

let admin: PrismaClient;
let A: Org;
let B: Org;
const stranger = randomUUID();
const saved = Object.fromEntries(JWT_ENV.map((name) => [name, process.env[name]]));

/** A workspace with one member and two projects, created as app_admin. */
async function org(label: string): Promise<Org> {
  const id = randomUUID();
  const member = randomUUID();
  await admin.user.create({ data: { id: member, email: `${member}@app-auth.test` } });
  await admin.workspace.create({ data: { id, name: label, slug: `app-auth-${id}` } });
  await admin.workspaceMember.create({ data: { workspaceId: id, userId: member } });
  await admin.project.createMany({
    data: ['one', 'two'].map((n) => ({ workspaceId: id, name: `${label} ${n}`, slug: n })),
  });
  return { id, member };
}

beforeAll(async () => {
  for (const name of JWT_ENV) delete process.env[name];
  admin = adminPrisma();
  await admin.user.create({ data: { id: stranger, email: `${stranger}@app-auth.test` } });
  A = await org('A');
  B = await org('B');
});

afterAll(async () => {
  await admin.workspace.deleteMany({ where: { id: { in: [A.id, B.id] } } });
  await admin.user.deleteMany({ where: { id: { in: [A.member, B.member, stranger] } } });
  await admin.$disconnect();
  for (const name of JWT_ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe("auth.resolve: 'request' with the app's own guard (no JWT key configured)", () => {
  let app: INestApplication;
  const get = (path: string, user?: string) => {
    const call = request(app.getHttpServer()).get(path);
    return user === undefined ? call : call.set('x-user', user);
  };

  beforeAll(async () => {
    app = await appWith({ auth: { resolve: 'request', tenantIdPath: 'user.orgId' } });
  });

  afterAll(async () => {
    await app.close();
  });

  it("a member gets their workspace's rows, and only those", async () => {
    const a = await get('/projects', `${A.member}:${A.id}`);
    const b = await get('/projects', `${B.member}:${B.id}`);

    expect({ status: a.status, body: a.body as unknown }).toEqual({
      status: 200,
      body: ['A one', 'A two'],
    });
    expect({ status: b.status, body: b.body as unknown }).toEqual({
      status: 200,
      body: ['B one', 'B two'],
    });
  });

  it('a non-member of the named workspace gets 403', async () => {
    for (const user of [`${A.member}:${B.id}`, `${stranger}:${A.id}`]) {
      const { status, body } = await get('/projects', user);

      expect({ status, body: body as unknown }).toEqual({
        status: 403,
        body: {
          statusCode: 403,
          message: 'You are not a member of this tenant',
          error: 'Forbidden',
        },
      });
    }
  });

  it('no user on the request gets 401; a user without a workspace gets 403', async () => {
    const none = await get('/projects');
    const noOrg = await get('/projects', `${A.member}:`);

    expect({ status: none.status, body: none.body as unknown }).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        message: 'Authentication required (no user.id on the request)',
        error: 'Unauthorized',
      },
    });
    expect({ status: noOrg.status, body: noOrg.body as unknown }).toEqual({
      status: 403,
      body: {
        statusCode: 403,
        message: 'The request has no usable tenant (user.orgId must be a UUID)',
        error: 'Forbidden',
      },
    });
  });

  it('@Authenticated() takes the user from the request and needs no workspace', async () => {
    const { status, body } = await get('/me', `${stranger}:`);

    expect({ status, body: body as unknown }).toEqual({
      status: 200,
      body: { userId: stranger, tenantId: null },
    });
  });
});

describe('membership callback using the tenant client (runs in the workspace context)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await appWith({
      auth: { resolve: 'request', tenantIdPath: 'user.orgId', stage: 'interceptor' },
      membership: async ({ prisma, userId }) =>
        (await prisma.workspaceMember.count({ where: { userId } })) > 0,
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('admits a member (200) and refuses a non-member (403)', async () => {
    const member = await request(app.getHttpServer())
      .get('/projects')
      .set('x-user', `${A.member}:${A.id}`);
    const outsider = await request(app.getHttpServer())
      .get('/projects')
      .set('x-user', `${B.member}:${A.id}`);

    expect({ status: member.status, body: member.body as unknown }).toEqual({
      status: 200,
      body: ['A one', 'A two'],
    });
    expect(outsider.status).toBe(403);
  });
});

describe('bearer tokens verified against a remote JWKS (ES256)', () => {
  let app: INestApplication;
  let server: Server;
  let key: KeyLike;

  const token = (claims: Record<string, unknown>, kid = 'key-1', signWith: KeyLike = key) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signWith);
  const projects = async (claims: Record<string, unknown>, kid?: string, signWith?: KeyLike) =>
    request(app.getHttpServer())
      .get('/projects')
      .set('authorization', `Bearer ${await token(claims, kid, signWith)}`);

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256' }] };
    server = createServer((_, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(jwks));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    app = await appWith({ jwt: { jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
  });

  afterAll(async () => {
    await app.close();
    await new Promise((done) => server.close(done));
  });

  it('a member with a token from the key set gets 200 and their rows', async () => {
    const { status, body } = await projects({ sub: A.member, workspaceId: A.id });

    expect({ status, body: body as unknown }).toEqual({ status: 200, body: ['A one', 'A two'] });
  });

  it('a non-member gets 403', async () => {
    const { status } = await projects({ sub: B.member, workspaceId: A.id });

    expect(status).toBe(403);
  });

  it('an unknown kid or another key gets 401', async () => {
    const other = (await generateKeyPair('ES256')).privateKey;
    const invalid = { statusCode: 401, message: 'The token is invalid', error: 'Unauthorized' };
    const unknownKid = await projects({ sub: A.member, workspaceId: A.id }, 'key-2');
    const otherKey = await projects({ sub: A.member, workspaceId: A.id }, 'key-1', other);

    expect({ status: unknownKid.status, body: unknownKid.body as unknown }).toEqual({
      status: 401,
      body: invalid,
    });
    expect({ status: otherKey.status, body: otherKey.body as unknown }).toEqual({
      status: 401,
      body: invalid,
    });
  });
});
