import { Controller, Get, HttpException, Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import { ClsModule, ClsService } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { of, lastValueFrom } from 'rxjs';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { TENANT_PRISMA_CLIENT } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { defaultSchemaSource } from '../../core/client/prisma-client-schema';
import { PrismaConnection } from '../prisma.service';
import { tenantContext, type TenantStore } from '../../core/client/tenant-extension';
import { MembershipVerifier } from './membership-verifier';
import { RequestContextNotMountedError } from './request-context.check';
import { Authenticated, TenantScoped } from './tenant-scoped.decorator';
import { TenantGuard } from './tenant.guard';
import { TenantInterceptor } from './tenant.interceptor';
import { TokenVerifier } from './token-verifier';

@Controller('scoped')
@TenantScoped()
class ScopedController {
  @Get()
  tenantRoute() {}

  @Get('me')
  @Authenticated()
  userRoute() {}
}

type Handler = (...args: unknown[]) => unknown;

const JWT_ENV = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const;
const savedEnv = Object.fromEntries(JWT_ENV.map((name) => [name, process.env[name]]));
beforeEach(() => {
  for (const name of JWT_ENV) delete process.env[name];
});
afterAll(() => {
  for (const name of JWT_ENV) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

const userId = randomUUID();
const orgId = randomUUID();

/** The ExecutionContext of `handler` for a request object (what Passport leaves: `req.user`). */
function contextFor(request: object, handler: Handler = ScopedController.prototype.tenantRoute) {
  return new ExecutionContextHost([request, {}, () => undefined], ScopedController, handler);
}

/** The exception `work` rejects with, as `{ status, message }`. */
async function failure(work: Promise<unknown>) {
  const error: unknown = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof HttpException))
    throw new Error(`expected an HttpException, got ${String(error)}`);
  return {
    status: error.getStatus(),
    message: (error.getResponse() as { message: string }).message,
  };
}

/**
 * Guard, interceptor and verifiers with these options and no JWT key anywhere; the membership
 * pool answers `member`, and records the tenant in context when asked.
 */
async function setup(options: PrismaModuleOptions, member = true) {
  const seen: Array<string | undefined> = [];
  const moduleRef = await Test.createTestingModule({
    imports: [ClsModule.forRoot({ global: true, middleware: { mount: true } })],
    providers: [
      TenantGuard,
      TenantInterceptor,
      TokenVerifier,
      MembershipVerifier,
      { provide: PRISMA_MODULE_OPTIONS, useValue: options },
      { provide: TENANT_PRISMA_CLIENT, useValue: { marker: 'tenant client' } },
      {
        provide: PrismaConnection,
        useValue: {
          source: { models: defaultSchemaSource().models },
          tenantPool: {
            settings: { schema: 'public' },
            query: () => {
              seen.push(tenantContext.getTenantId());
              return Promise.resolve({ rowCount: member ? 1 : 0 });
            },
          },
        },
      },
    ],
  }).compile();
  const cls = moduleRef.get<ClsService<TenantStore>>(ClsService);
  const guard = moduleRef.get(TenantGuard);
  const interceptor = moduleRef.get(TenantInterceptor);
  /** Runs guard then interceptor as Nest would, in a fresh context; returns what the handler sees. */
  const run = (context: ExecutionContextHost) =>
    cls.runWith({}, async () => {
      if (!(await guard.canActivate(context))) return 'refused';
      const observable = await interceptor.intercept(context, {
        handle: () => of({ tenantId: cls.get('tenantId'), userId: cls.get('userId') }),
      });
      return lastValueFrom(observable);
    });
  return { moduleRef, guard, run, seen };
}

describe("auth.resolve: 'request' (the app's own authentication)", () => {
  const options: PrismaModuleOptions = {
    auth: { resolve: 'request', tenantIdPath: 'user.orgId' },
  };

  it('needs no JWT key (no MissingJwtKeyError)', async () => {
    await expect(setup(options)).resolves.toBeDefined();
  });

  it('takes user and workspace from req.user, lower-cased, and checks membership in context', async () => {
    const s = await setup(options);
    const request = { user: { id: userId.toUpperCase(), orgId: orgId.toUpperCase() } };

    await expect(s.run(contextFor(request))).resolves.toEqual({ tenantId: orgId, userId });
    expect(s.seen).toEqual([orgId]);
  });

  it('answers 401 without a user, 401 for a non-UUID id, 403 without a usable workspace', async () => {
    const s = await setup(options);

    expect(await failure(s.run(contextFor({})))).toEqual({
      status: 401,
      message: 'Authentication required (no user.id on the request)',
    });
    expect(await failure(s.run(contextFor({ user: { id: 'u-1', orgId } })))).toEqual({
      status: 401,
      message: "The request's user id (user.id) is not a UUID",
    });
    expect(await failure(s.run(contextFor({ user: { id: userId } })))).toEqual({
      status: 403,
      message: 'The request has no usable tenant (user.orgId must be a UUID)',
    });
  });

  it('answers 403 to a non-member', async () => {
    const s = await setup(options, false);

    expect(await failure(s.run(contextFor({ user: { id: userId, orgId } })))).toEqual({
      status: 403,
      message: 'You are not a member of this tenant',
    });
  });

  it('@Authenticated() needs no workspace', async () => {
    const s = await setup(options);
    const context = contextFor({ user: { id: userId } }, ScopedController.prototype.userRoute);

    await expect(s.run(context)).resolves.toEqual({ tenantId: undefined, userId });
  });

  it('defaults to user.id and user.<tenantClaim>', async () => {
    const s = await setup({ auth: { resolve: 'request' }, tenantClaim: 'workspaceId' });

    await expect(s.run(contextFor({ user: { id: userId, workspaceId: orgId } }))).resolves.toEqual({
      tenantId: orgId,
      userId,
    });
  });
});

describe('auth.resolve: a function', () => {
  it('decides the identity; null is a 401', async () => {
    const resolve = jest.fn((request: Record<string, unknown>) => {
      const session = request.session as { uid: string; ws: string } | undefined;
      return session ? { userId: session.uid, tenantId: session.ws } : null;
    });
    const s = await setup({ auth: { resolve } });

    await expect(s.run(contextFor({ session: { uid: userId, ws: orgId } }))).resolves.toEqual({
      tenantId: orgId,
      userId,
    });
    expect(await failure(s.run(contextFor({})))).toEqual({
      status: 401,
      message: 'Authentication required',
    });
    expect(await failure(s.run(contextFor({ session: { uid: userId, ws: 'x' } })))).toEqual({
      status: 403,
      message: 'The request has no usable tenant (the resolved tenantId must be a UUID)',
    });
  });
});

describe("auth.stage: 'interceptor'", () => {
  it('the guard lets the request pass and the interceptor fills the context, once', async () => {
    const s = await setup({ auth: { resolve: 'request', stage: 'interceptor' } });
    const request = { user: { id: userId, workspaceId: orgId } };

    // What a later guard would see: nothing yet (the app's guard may set req.user after ours).
    await expect(s.guard.canActivate(contextFor({}))).resolves.toBe(true);
    await expect(s.run(contextFor(request))).resolves.toEqual({ tenantId: orgId, userId });
    expect(s.seen).toHaveLength(1);
  });

  it('with the default stage, the guard does the work and the interceptor does not repeat it', async () => {
    const s = await setup({ auth: { resolve: 'request' } });

    await expect(s.run(contextFor({ user: { id: userId, workspaceId: orgId } }))).resolves.toEqual({
      tenantId: orgId,
      userId,
    });
    expect(s.seen).toHaveLength(1);
  });
});

describe('membership callback', () => {
  it('runs inside the workspace’s context, with the tenant client', async () => {
    const inside: Array<{ tenant?: string; user?: string }> = [];
    const membership = jest.fn(() => {
      inside.push({ tenant: tenantContext.getTenantId(), user: tenantContext.getUserId() });
      return Promise.resolve(true);
    });
    const s = await setup({ auth: { resolve: 'request' }, membership });

    await s.run(contextFor({ user: { id: userId, workspaceId: orgId } }));
    expect(membership).toHaveBeenCalledWith({
      tenantId: orgId,
      userId,
      prisma: { marker: 'tenant client' },
    });
    expect(inside).toEqual([{ tenant: orgId, user: userId }]);
  });
});

describe('nestjs-cls at start-up', () => {
  const moduleWith = (imports: never[] | [ReturnType<typeof ClsModule.forRoot>]) =>
    Test.createTestingModule({
      imports,
      providers: [
        TenantGuard,
        TokenVerifier,
        { provide: MembershipVerifier, useValue: {} },
        { provide: PRISMA_MODULE_OPTIONS, useValue: { auth: { resolve: 'request' } } },
      ],
    }).compile();

  it('fails the start without ClsModule, saying how to mount it', async () => {
    const moduleRef = await moduleWith([]);

    await expect(moduleRef.init()).rejects.toThrow(RequestContextNotMountedError);
    await expect(moduleRef.init()).rejects.toThrow(
      'ClsModule.forRoot({ global: true, middleware: { mount: true } })',
    );
  });

  it('starts with ClsModule mounted', async () => {
    const moduleRef = await moduleWith([
      ClsModule.forRoot({ global: true, middleware: { mount: true } }),
    ]);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    await expect(moduleRef.init()).resolves.toBeDefined();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    await moduleRef.close();
  });
});

describe('jwt.subjectFormat and jwt.userIdClaim (token path)', () => {
  const SECRET = 'request-identity-spec-secret-0123456789-abcdef';
  const bearer = async (payload: Record<string, unknown>) =>
    `Bearer ${await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET))}`;
  const contextWith = (authorization: string) => contextFor({ headers: { authorization } });

  it("'any' accepts a non-UUID sub; the user id comes from userIdClaim", async () => {
    const s = await setup({ jwt: { secret: SECRET, subjectFormat: 'any', userIdClaim: 'uid' } });

    await expect(
      s.run(contextWith(await bearer({ sub: 'auth0|42', uid: userId, workspaceId: orgId }))),
    ).resolves.toEqual({ tenantId: orgId, userId });
    expect(
      await failure(s.run(contextWith(await bearer({ sub: 'auth0|42', workspaceId: orgId })))),
    ).toEqual({ status: 401, message: 'The token has no valid user id (uid must be a UUID)' });
  });

  it("'uuid' (the default) and a validator refuse other subjects with 401", async () => {
    const byDefault = await setup({ jwt: { secret: SECRET } });
    const validated = await setup({
      jwt: { secret: SECRET, subjectFormat: (sub) => sub.startsWith('user:'), userIdClaim: 'uid' },
    });
    const token = await bearer({ sub: 'auth0|42', uid: userId, workspaceId: orgId });

    expect(await failure(byDefault.run(contextWith(token)))).toEqual({
      status: 401,
      message: 'The token has no valid subject (sub)',
    });
    expect(await failure(validated.run(contextWith(token)))).toEqual({
      status: 401,
      message: 'The token has no valid subject (sub)',
    });
  });
});
