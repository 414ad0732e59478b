export { TENANT_SETTING } from '../core/driver/tenant-setting.constants';

/**
 * Injection token of the tenant-scoped Prisma client, an alias of `PrismaService`. Prefer injecting
 * `PrismaService` or `@InjectTenantPrisma()`.
 */
export const TENANT_PRISMA_CLIENT = Symbol('TENANT_PRISMA_CLIENT');

/** Injection token of the logged cross-tenant system client. Prefer `@InjectSystemPrisma()`. */
export const SYSTEM_PRISMA_CLIENT = Symbol('SYSTEM_PRISMA_CLIENT');

/** Metadata key written by `@TenantScoped()` and `@Authenticated()`. */
export const TENANCY_REQUIREMENT_KEY = 'tenancy:requirement';
