import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  InternalServerErrorException,
  Logger,
  type OnModuleInit,
  UnauthorizedException,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { ClsServiceManager } from 'nestjs-cls';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import type { RequestIdentityResolver } from '../interfaces/tenancy-auth-options.interface';
import { TENANCY_REQUIREMENT_KEY } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { resolvePrismaOptions } from '../prisma-options';
import { isUuid, type TenantStore } from '../../core/client/tenant-extension';
import type { TenancyRequirement } from './tenancy-requirement';
import { MembershipVerifier } from './membership-verifier';
import { checkRequestContextMounted, MOUNT_CLS_HINT } from './request-context.check';
import { TokenVerifier } from './token-verifier';

/** Marks a request whose identity was already resolved (guard, then interceptor). */
const AUTHORIZED = Symbol('nest-prisma-tenancy.authorized');

type HttpRequest = Record<string | symbol, unknown> & {
  headers?: Record<string, string | undefined>;
};

/** The value at a dotted `path` of `source` (`'user.id'` → `source.user.id`). */
function valueAt(source: unknown, path: string): unknown {
  let value = source;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A resolved caller: the user, and the tenant or the 403 that answers its absence. */
interface Caller {
  userId: string;
  tenantId: string | undefined;
  /** The 403 message when `tenantId` is missing or not a UUID. */
  noTenant: string;
}

/** The identity source of the options, as one function over the request. */
type Identify = (request: HttpRequest) => Promise<Caller>;

/** `identity` as a Caller: the tenant kept only when it is a UUID. */
function caller(userId: string, tenantId: unknown, noTenant: string): Caller {
  return { userId, tenantId: isUuid(tenantId) ? tenantId : undefined, noTenant };
}

/**
 * Applied by `@TenantScoped()` / `@Authenticated()`: resolves the caller (a verified bearer token,
 * or the app's own authentication on the request, per `auth.resolve`), checks membership, and
 * fills the request's context (nestjs-cls) with the user and, for `@TenantScoped()`, the
 * tenant. With `auth.stage: 'interceptor'` it leaves that to `TenantInterceptor`.
 */
@Injectable()
export class TenantGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('TenantGuard');
  private readonly stage: 'guard' | 'interceptor';
  private readonly identify: Identify;

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenVerifier,
    private readonly membership: MembershipVerifier,
    @Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions,
    private readonly moduleRef: ModuleRef,
  ) {
    const claim = resolvePrismaOptions(options).tenantClaim;
    const auth = options.auth ?? {};
    this.stage = auth.stage ?? 'guard';
    const resolve = auth.resolve ?? 'token';
    if (resolve === 'token') {
      this.identify = (request) => this.fromToken(request, claim, options.jwt ?? {});
    } else if (resolve === 'request') {
      const userPath = auth.userIdPath ?? 'user.id';
      const tenantPath = auth.tenantIdPath ?? `user.${claim}`;
      this.identify = (request) => Promise.resolve(this.fromRequest(request, userPath, tenantPath));
    } else {
      this.identify = (request) => this.fromResolver(request, resolve);
    }
  }

  /** Fails the start when nestjs-cls is not set up (see `checkRequestContextMounted`). */
  onModuleInit(): void {
    checkRequestContextMounted(this.moduleRef, this.logger);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.stage === 'guard') await this.authorize(context);
    return true;
  }

  /**
   * Resolves the caller of a handler that carries `@TenantScoped()` / `@Authenticated()` and fills
   * the request context; once per request (the guard and `TenantInterceptor` share it).
   *
   * @throws UnauthorizedException (401) without a usable identity; ForbiddenException (403)
   * without a usable tenant or membership. HTTP messages say "tenant" and name the configured
   * claim or request path, whatever the app calls its tenants.
   */
  async authorize(context: ExecutionContext): Promise<void> {
    const requirement = this.reflector.getAllAndOverride<TenancyRequirement | undefined>(
      TENANCY_REQUIREMENT_KEY,
      [context.getHandler(), context.getClass()],
    );
    if (!requirement) return;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    if (request[AUTHORIZED] === true) return;
    const cls = ClsServiceManager.getClsService<TenantStore>();
    if (!cls.isActive()) {
      this.logger.error(`No request context: ${MOUNT_CLS_HINT}`);
      throw new InternalServerErrorException();
    }
    const identity = await this.identify(request);
    const userId = identity.userId.toLowerCase();
    cls.set('userId', userId);
    cls.set('tenantId', undefined);
    if (requirement === 'tenant') {
      if (identity.tenantId === undefined) throw new ForbiddenException(identity.noTenant);
      const tenantId = identity.tenantId.toLowerCase();
      cls.set('membershipCheck', await this.membership.begin(tenantId, userId));
      cls.set('tenantId', tenantId);
    }
    request[AUTHORIZED] = true;
  }

  /**
   * Completes a membership check the request's statements did not carry (a handler that ran
   * none), before its response or error goes out. No-op outside a request context.
   *
   * @throws ForbiddenException when the caller is not a member.
   */
  async completeMembership(): Promise<void> {
    const cls = ClsServiceManager.getClsService<TenantStore>();
    if (cls.isActive()) await this.membership.complete(cls.get('membershipCheck'));
  }

  /** `auth.resolve: 'token'`: the verified bearer token's user and tenant claims. */
  private async fromToken(
    request: HttpRequest,
    claim: string,
    jwt: NonNullable<PrismaModuleOptions['jwt']>,
  ): Promise<Caller> {
    const claims = await this.tokens.verify(request.headers?.authorization);
    const format = jwt.subjectFormat ?? 'uuid';
    const sub = claims.sub;
    const subjectOk =
      typeof sub === 'string' &&
      sub !== '' &&
      (format === 'uuid' ? isUuid(sub) : format === 'any' ? true : format(sub));
    if (!subjectOk) throw new UnauthorizedException('The token has no valid subject (sub)');
    const userClaim = jwt.userIdClaim ?? 'sub';
    const userId = claims[userClaim];
    if (!isUuid(userId)) {
      throw new UnauthorizedException(
        userClaim === 'sub'
          ? 'The token has no valid subject (sub must be a UUID user id)'
          : `The token has no valid user id (${userClaim} must be a UUID)`,
      );
    }
    const tenantId = claims[claim];
    return caller(
      userId,
      tenantId,
      `The token has no usable tenant claim (${claim} must be a UUID)`,
    );
  }

  /** `auth.resolve: 'request'`: the ids the app's own authentication put on the request. */
  private fromRequest(request: HttpRequest, userPath: string, tenantPath: string): Caller {
    const userId = valueAt(request, userPath);
    if (userId === undefined || userId === null) {
      throw new UnauthorizedException(`Authentication required (no ${userPath} on the request)`);
    }
    if (!isUuid(userId)) {
      throw new UnauthorizedException(`The request's user id (${userPath}) is not a UUID`);
    }
    const tenantId = valueAt(request, tenantPath);
    return caller(
      userId,
      tenantId,
      `The request has no usable tenant (${tenantPath} must be a UUID)`,
    );
  }

  /** `auth.resolve: <function>`: the app's own resolver. */
  private async fromResolver(
    request: HttpRequest,
    resolve: RequestIdentityResolver,
  ): Promise<Caller> {
    const identity = await resolve(request);
    if (!identity) throw new UnauthorizedException('Authentication required');
    if (!isUuid(identity.userId)) {
      throw new UnauthorizedException('The resolved user id is not a UUID');
    }
    return caller(
      identity.userId,
      identity.tenantId,
      'The request has no usable tenant (the resolved tenantId must be a UUID)',
    );
  }
}
