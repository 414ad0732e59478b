import { Inject } from '@nestjs/common';
import { SYSTEM_PRISMA_CLIENT, TENANT_PRISMA_CLIENT } from './prisma.constants';
import { UnscopedPrismaService } from './prisma.service';

/**
 * Injects the tenant-scoped Prisma client, the same instance as `PrismaService`: every query it
 * runs belongs to the current tenant, in the client and in PostgreSQL. Type it with your own
 * generated `PrismaClient` when it does not come from `@prisma/client`.
 */
export const InjectTenantPrisma = (): ParameterDecorator & PropertyDecorator =>
  Inject(TENANT_PRISMA_CLIENT);

/**
 * Injects `UnscopedPrismaService`: the client without the query extension, still under Row-Level
 * Security (it sees only the current tenant's rows, and none without one).
 */
export const InjectUnscopedPrisma = (): ParameterDecorator & PropertyDecorator =>
  Inject(UnscopedPrismaService);

/** Injects the logged cross-tenant `SystemPrisma` (use `forReason(...)`). */
export const InjectSystemPrisma = (): ParameterDecorator & PropertyDecorator =>
  Inject(SYSTEM_PRISMA_CLIENT);
