import {
  applyDecorators,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { MembershipDeniedFilter } from './membership-denied.filter';
import { TENANCY_REQUIREMENT_KEY } from '../prisma.constants';
import { TenantGuard } from './tenant.guard';
import { TenantInterceptor } from './tenant.interceptor';

export type { TenancyRequirement } from './tenancy-requirement';
import type { TenancyRequirement } from './tenancy-requirement';

/**
 * Requires an authenticated caller (a verified bearer token, or the app's own authentication on
 * the request: `auth.resolve`) acting in a tenant (a UUID) they are still a member of, and makes
 * it the tenant of everything the handler runs: the tenant client and Row-Level
 * Security both scope to it. On a controller it covers every handler.
 *
 * Adds `TenantGuard` (which does the work with `auth.stage: 'guard'`, the default) and
 * `TenantInterceptor` (which does it with `auth.stage: 'interceptor'`, after all guards), and
 * `MembershipDeniedFilter` (a non-member's refused statement is a 403 wherever it was sent from).
 *
 * Fails closed: no or bad identity → 401; no usable tenant, or a caller no longer a member →
 * 403 (messages say "tenant" and name the configured claim or request path). The tenant never comes from a header, query or body.
 */
export const TenantScoped = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    SetMetadata(TENANCY_REQUIREMENT_KEY, 'tenant' satisfies TenancyRequirement),
    UseGuards(TenantGuard),
    UseInterceptors(TenantInterceptor),
    UseFilters(MembershipDeniedFilter),
  );

/**
 * Requires an authenticated caller (its user id becomes the current user) but no tenant; for
 * endpoints such as "create a tenant". Handler-level decorators override controller-level ones.
 */
export const Authenticated = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    SetMetadata(TENANCY_REQUIREMENT_KEY, 'user' satisfies TenancyRequirement),
    UseGuards(TenantGuard),
    UseInterceptors(TenantInterceptor),
  );
