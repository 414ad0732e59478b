import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  InternalServerErrorException,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsServiceManager } from 'nestjs-cls';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { TENANCY_REQUIREMENT_KEY } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { resolvePrismaOptions } from '../prisma-options';
import { isUuid, type TenantStore } from '../../core/client/tenant-extension';
import type { TenancyRequirement } from './tenancy-requirement';
import { MembershipVerifier } from './membership-verifier';
import { TokenVerifier } from './token-verifier';

/**
 * Applied by `@TenantScoped()` / `@Authenticated()`: verifies the bearer token and fills the
 * request's context (nestjs-cls) with the user and, for `@TenantScoped()`, the workspace.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  private readonly logger = new Logger('TenantGuard');
  private readonly claim: string;

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenVerifier,
    private readonly membership: MembershipVerifier,
    @Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions,
  ) {
    this.claim = resolvePrismaOptions(options).tenantClaim;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<TenancyRequirement | undefined>(
      TENANCY_REQUIREMENT_KEY,
      [context.getHandler(), context.getClass()],
    );
    if (!requirement) return true;

    const cls = ClsServiceManager.getClsService<TenantStore>();
    if (!cls.isActive()) {
      this.logger.error(
        'No request context: mount nestjs-cls once in the app, ClsModule.forRoot({ global: true, middleware: { mount: true } })',
      );
      throw new InternalServerErrorException();
    }

    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined> }>();
    const claims = this.tokens.verify(request.headers.authorization);
    if (!isUuid(claims.sub))
      throw new UnauthorizedException('The token has no valid subject (sub)');
    const userId = claims.sub.toLowerCase();
    cls.set('userId', userId);
    cls.set('tenantId', undefined);
    if (requirement === 'user') return true;

    const tenantId: unknown = claims[this.claim];
    if (!isUuid(tenantId)) {
      throw new ForbiddenException(
        `The token has no usable workspace claim (${this.claim} must be a UUID)`,
      );
    }
    const workspaceId = tenantId.toLowerCase();
    if (!(await this.membership.isMember(workspaceId, userId))) {
      throw new ForbiddenException('You are not a member of this workspace');
    }
    cls.set('tenantId', workspaceId);
    return true;
  }
}
