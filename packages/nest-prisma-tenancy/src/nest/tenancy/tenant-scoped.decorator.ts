import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { TENANCY_REQUIREMENT_KEY } from '../prisma.constants';
import { TenantGuard } from './tenant.guard';

export type { TenancyRequirement } from './tenancy-requirement';
import type { TenancyRequirement } from './tenancy-requirement';

/**
 * Requires a verified bearer token whose workspace claim (a UUID) names a workspace the caller is
 * still a member of, and makes that workspace the tenant of everything the handler runs: the
 * tenant client and Row-Level Security both scope to it. On a controller it covers every handler.
 *
 * Fails closed: no or bad token → 401; valid token without a usable workspace claim, or a caller
 * no longer a member → 403. The tenant never comes from a header, query or body.
 */
export const TenantScoped = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    SetMetadata(TENANCY_REQUIREMENT_KEY, 'tenant' satisfies TenancyRequirement),
    UseGuards(TenantGuard),
  );

/**
 * Requires a verified bearer token (its `sub` becomes the current user) but no workspace; for
 * endpoints such as "create a workspace". Handler-level decorators override controller-level ones.
 */
export const Authenticated = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    SetMetadata(TENANCY_REQUIREMENT_KEY, 'user' satisfies TenancyRequirement),
    UseGuards(TenantGuard),
  );
