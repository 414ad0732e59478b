import {
  Controller,
  ForbiddenException,
  Get,
  HttpException,
  InternalServerErrorException,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import { ClsModule, ClsService } from 'nestjs-cls';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { TENANCY_REQUIREMENT_KEY, TENANT_PRISMA_CLIENT } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { tenantContext, type TenantStore } from '../../core/client/tenant-extension';
import { Authenticated, TenantScoped } from './tenant-scoped.decorator';
import { TenantGuard } from './tenant.guard';
import { MembershipVerifier } from './membership-verifier';
import { defaultSchemaSource } from '../../core/client/prisma-client-schema';
import { PrismaConnection } from '../prisma.service';
import { TokenVerifier } from './token-verifier';
import { MOUNT_CLS_HINT } from './request-context.check';

const SECRET = 'tenant-guard-spec-secret-0123456789-abcdef';

@Controller('scoped')
@TenantScoped()
class ScopedController {
  @Get()
  tenantRoute() {}

  @Get('me')
  @Authenticated()
  userRoute() {}
}

@Controller('open')
class OpenController {
  @Get()
  open() {}

  @Get('scoped')
  @TenantScoped()
  scopedHandler() {}
}

@Controller('users')
@Authenticated()
class UserController {
  @Get()
  userRoute() {}

  @Get('tenant')
  @TenantScoped()
  tenantRoute() {}
}

type Handler = (...args: unknown[]) => unknown;

/** The ExecutionContext Nest would build for `handler` of `controller` with these headers. */
function contextFor(controller: new () => object, handler: Handler, authorization?: string) {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return new ExecutionContextHost([request, {}, () => undefined], controller, handler);
}

const bearer = (claims: Record<string, unknown>) =>
  `Bearer ${jwt.sign(claims, SECRET, { algorithm: 'HS256', expiresIn: '1h' })}`;

/** The exception `work` rejects with, as `{ type, status, body }`. */
async function failure(work: Promise<unknown>) {
  const error: unknown = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof HttpException))
    throw new Error(`expected an HttpException, got ${String(error)}`);
  return { type: error.constructor, status: error.getStatus(), body: error.getResponse() };
}

interface Setup {
  guard: TenantGuard;
  cls: ClsService<TenantStore>;
  findFirst: jest.Mock;
}

/**
 * The guard with a real TokenVerifier and Reflector; the tenant client is a `useValue` stand-in
 * whose `workspaceMember.findFirst` answers `member` (no database needed).
 */
async function setup(
  options: Partial<PrismaModuleOptions> = {},
  member: unknown = { id: 'm' },
): Promise<Setup> {
  const findFirst = jest.fn((_args?: unknown) => Promise.resolve(member));
  const moduleRef = await Test.createTestingModule({
    imports: [ClsModule.forRoot({ global: true })],
    providers: [
      TenantGuard,
      TokenVerifier,
      {
        provide: PRISMA_MODULE_OPTIONS,
        // The guard-time membership check; the first-query one needs PostgreSQL and is proven in
        // test/api/membership-check.e2e-spec.ts.
        useValue: {
          jwt: { secret: SECRET },
          ...(options.membership === undefined && options.verifyMembership === undefined
            ? { membership: { checkAt: 'guard' } }
            : {}),
          ...options,
        },
      },
      { provide: TENANT_PRISMA_CLIENT, useValue: { workspaceMember: { findFirst } } },
      MembershipVerifier,
      {
        // The default check sends SQL through the tenant pool; this stand-in answers it as
        // `findFirst` would (a membership row or none), so one mock describes both.
        provide: PrismaConnection,
        useValue: {
          source: { models: defaultSchemaSource().models },
          tenantPool: {
            settings: { schema: 'public' },
            query: (_sql: string, [, user]: string[]) =>
              findFirst({ where: { userId: user }, select: { id: true } }).then((row: unknown) => ({
                rowCount: row ? 1 : 0,
              })),
          },
        },
      },
    ],
  }).compile();
  return { guard: moduleRef.get(TenantGuard), cls: moduleRef.get(ClsService), findFirst };
}

/** Runs the guard inside a fresh request context and returns what it stored there. */
async function activate(
  { guard, cls }: Setup,
  context: ExecutionContextHost,
  initial: TenantStore = {},
): Promise<{ allowed: boolean; store: TenantStore }> {
  return cls.runWith({ ...initial }, async () => {
    const allowed = await guard.canActivate(context);
    return { allowed, store: { tenantId: cls.get('tenantId'), userId: cls.get('userId') } };
  });
}

describe('decorator metadata', () => {
  const reflector = new Reflector();
  const requirement = (controller: new () => object, handler: Handler) =>
    reflector.getAllAndOverride<string | undefined>(TENANCY_REQUIREMENT_KEY, [handler, controller]);

  it('writes "tenant" for @TenantScoped() and "user" for @Authenticated(), handler over class', () => {
    expect(Reflect.getMetadata(TENANCY_REQUIREMENT_KEY, ScopedController)).toBe('tenant');
    expect(requirement(ScopedController, ScopedController.prototype.tenantRoute)).toBe('tenant');
    expect(requirement(ScopedController, ScopedController.prototype.userRoute)).toBe('user');
    expect(requirement(UserController, UserController.prototype.userRoute)).toBe('user');
    expect(requirement(UserController, UserController.prototype.tenantRoute)).toBe('tenant');
    expect(requirement(OpenController, OpenController.prototype.open)).toBeUndefined();
    expect(requirement(OpenController, OpenController.prototype.scopedHandler)).toBe('tenant');
  });

  it('both decorators apply TenantGuard', () => {
    expect(Reflect.getMetadata('__guards__', ScopedController)).toEqual([TenantGuard]);
    expect(Reflect.getMetadata('__guards__', ScopedController.prototype.userRoute)).toEqual([
      TenantGuard,
    ]);
    expect(Reflect.getMetadata('__guards__', OpenController.prototype.scopedHandler)).toEqual([
      TenantGuard,
    ]);
  });
});

describe('TenantGuard', () => {
  const userId = randomUUID();
  const workspaceId = randomUUID();

  it('lets a handler without requirement through without reading any token', async () => {
    const s = await setup();
    const verify = jest.spyOn(TokenVerifier.prototype, 'verify');
    try {
      const result = await activate(s, contextFor(OpenController, OpenController.prototype.open), {
        tenantId: 'untouched',
      });

      expect(result).toEqual({
        allowed: true,
        store: { tenantId: 'untouched', userId: undefined },
      });
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  it('fills userId and tenantId (lower-cased) for a member on a @TenantScoped() route', async () => {
    const s = await setup();
    const auth = bearer({ sub: userId.toUpperCase(), workspaceId: workspaceId.toUpperCase() });
    let tenantDuringCheck: string | undefined;
    s.findFirst.mockImplementation(() => {
      tenantDuringCheck = tenantContext.getTenantId();
      return Promise.resolve({ id: 'member' });
    });

    const result = await activate(
      s,
      contextFor(ScopedController, ScopedController.prototype.tenantRoute, auth),
    );

    expect(result).toEqual({ allowed: true, store: { userId, tenantId: workspaceId } });
    expect(s.findFirst).toHaveBeenCalledWith({ where: { userId }, select: { id: true } });
    expect(tenantDuringCheck).toBe(workspaceId);
  });

  it('@Authenticated() on the handler wins over @TenantScoped() on the class: no workspace needed', async () => {
    const s = await setup();

    const result = await activate(
      s,
      contextFor(ScopedController, ScopedController.prototype.userRoute, bearer({ sub: userId })),
    );

    expect(result).toEqual({ allowed: true, store: { userId, tenantId: undefined } });
    expect(s.findFirst).not.toHaveBeenCalled();
  });

  it('@Authenticated() clears a tenant left in the store, even when the token has a workspace claim', async () => {
    const s = await setup();

    const result = await activate(
      s,
      contextFor(
        ScopedController,
        ScopedController.prototype.userRoute,
        bearer({ sub: userId, workspaceId }),
      ),
      { tenantId: randomUUID(), userId: randomUUID() },
    );

    expect(result).toEqual({ allowed: true, store: { userId, tenantId: undefined } });
  });

  it('@TenantScoped() on the handler wins over @Authenticated() on the class', async () => {
    const s = await setup();

    const { status, body } = await failure(
      activate(
        s,
        contextFor(UserController, UserController.prototype.tenantRoute, bearer({ sub: userId })),
      ),
    );

    expect({ status, body }).toEqual({
      status: 403,
      body: {
        statusCode: 403,
        message: 'The token has no usable tenant claim (workspaceId must be a UUID)',
        error: 'Forbidden',
      },
    });
  });

  describe('401: no usable identity', () => {
    it.each<[string, string | undefined, string]>([
      ['no header', undefined, 'A bearer token is required (Authorization: Bearer <JWT>)'],
      [
        'a bad signature',
        `Bearer ${jwt.sign({ sub: randomUUID() }, 'x'.repeat(40), { expiresIn: '1h' })}`,
        'The token is invalid',
      ],
      [
        'a sub that is not a UUID',
        bearer({ sub: 'alice', workspaceId: randomUUID() }),
        'The token has no valid subject (sub)',
      ],
      ['no sub', bearer({ workspaceId: randomUUID() }), 'The token has no valid subject (sub)'],
    ])('%s, on both kinds of route', async (_, auth, message) => {
      const s = await setup();
      const expected = {
        type: UnauthorizedException,
        status: 401,
        body: { statusCode: 401, message, error: 'Unauthorized' },
      };

      expect(
        await failure(
          activate(s, contextFor(ScopedController, ScopedController.prototype.tenantRoute, auth)),
        ),
      ).toEqual(expected);
      expect(
        await failure(
          activate(s, contextFor(ScopedController, ScopedController.prototype.userRoute, auth)),
        ),
      ).toEqual(expected);
      expect(s.findFirst).not.toHaveBeenCalled();
    });
  });

  describe('403: a verified user without a usable workspace', () => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['a number', 42],
      ['an array', [randomUUID()]],
      ['an object', { id: randomUUID() }],
      ['an empty string', ''],
      ['not a UUID', 'not-a-uuid'],
    ])('workspace claim %s', async (_, claim) => {
      const s = await setup();
      const auth = bearer(
        claim === undefined ? { sub: userId } : { sub: userId, workspaceId: claim },
      );

      const result = await failure(
        activate(s, contextFor(ScopedController, ScopedController.prototype.tenantRoute, auth)),
      );

      expect(result).toEqual({
        type: ForbiddenException,
        status: 403,
        body: {
          statusCode: 403,
          message: 'The token has no usable tenant claim (workspaceId must be a UUID)',
          error: 'Forbidden',
        },
      });
      expect(s.findFirst).not.toHaveBeenCalled();
    });

    it('not a member (the default check finds no membership row)', async () => {
      const s = await setup({}, null);

      const result = await failure(
        activate(
          s,
          contextFor(
            ScopedController,
            ScopedController.prototype.tenantRoute,
            bearer({ sub: userId, workspaceId }),
          ),
        ),
      );

      expect(result).toEqual({
        type: ForbiddenException,
        status: 403,
        body: {
          statusCode: 403,
          message: 'You are not a member of this tenant',
          error: 'Forbidden',
        },
      });
    });

    it('leaves no tenant in the store when refused, not even one set before', async () => {
      const s = await setup({}, null);
      const stored = await s.cls.runWith({ tenantId: randomUUID() }, async () => {
        await s.guard
          .canActivate(
            contextFor(
              ScopedController,
              ScopedController.prototype.tenantRoute,
              bearer({ sub: userId, workspaceId }),
            ),
          )
          .catch(() => undefined);
        return s.cls.get('tenantId');
      });

      expect(stored).toBeUndefined();
    });
  });

  describe('options', () => {
    it('tenantClaim names the claim that holds the workspace', async () => {
      const s = await setup({ tenantClaim: 'org' });
      const context = (claims: Record<string, unknown>) =>
        contextFor(
          ScopedController,
          ScopedController.prototype.tenantRoute,
          bearer({ sub: userId, ...claims }),
        );

      expect(await activate(s, context({ org: workspaceId }))).toEqual({
        allowed: true,
        store: { userId, tenantId: workspaceId },
      });
      expect(await failure(activate(s, context({ workspaceId })))).toMatchObject({
        status: 403,
        body: { message: 'The token has no usable tenant claim (org must be a UUID)' },
      });
    });

    it('verifyMembership: a function decides, with the lower-cased ids and the tenant client', async () => {
      const verifyMembership = jest.fn(() => Promise.resolve(false));
      const s = await setup({ verifyMembership });
      const context = contextFor(
        ScopedController,
        ScopedController.prototype.tenantRoute,
        bearer({ sub: userId.toUpperCase(), workspaceId: workspaceId.toUpperCase() }),
      );

      expect(await failure(activate(s, context))).toMatchObject({
        status: 403,
        body: { message: 'You are not a member of this tenant' },
      });
      expect(verifyMembership).toHaveBeenCalledWith({
        tenantId: workspaceId,
        userId,
        prisma: { workspaceMember: { findFirst: s.findFirst } },
      });
      expect(s.findFirst).not.toHaveBeenCalled();

      verifyMembership.mockResolvedValue(true);
      expect(await activate(s, context)).toEqual({
        allowed: true,
        store: { userId, tenantId: workspaceId },
      });
    });

    it('verifyMembership: false skips the check', async () => {
      const s = await setup({ verifyMembership: false }, null);

      const result = await activate(
        s,
        contextFor(
          ScopedController,
          ScopedController.prototype.tenantRoute,
          bearer({ sub: userId, workspaceId }),
        ),
      );

      expect(result).toEqual({ allowed: true, store: { userId, tenantId: workspaceId } });
      expect(s.findFirst).not.toHaveBeenCalled();
    });
  });

  it('answers 500 when no request context is active (nestjs-cls not mounted), and says why in the log', async () => {
    const s = await setup();
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);

    const result = await failure(
      s.guard.canActivate(
        contextFor(
          ScopedController,
          ScopedController.prototype.tenantRoute,
          bearer({ sub: userId, workspaceId }),
        ),
      ),
    );

    expect(result).toEqual({
      type: InternalServerErrorException,
      status: 500,
      body: { statusCode: 500, message: 'Internal Server Error' },
    });
    expect(s.findFirst).not.toHaveBeenCalled();
    expect(logged).toHaveBeenCalledWith(`No request context: ${MOUNT_CLS_HINT}`);
    logged.mockRestore();
  });
});
