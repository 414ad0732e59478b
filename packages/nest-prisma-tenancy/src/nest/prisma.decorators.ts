import { Inject } from '@nestjs/common';
import { SYSTEM_PRISMA_CLIENT, TENANT_PRISMA_CLIENT } from './prisma.constants';

/**
 * Injects the tenant-scoped Prisma client (`TenantPrismaClient`): every query it runs belongs to
 * the current workspace, in the client and in PostgreSQL.
 */
export const InjectTenantPrisma = (): ParameterDecorator & PropertyDecorator =>
  Inject(TENANT_PRISMA_CLIENT);

/** Injects the logged cross-tenant `SystemPrisma` (use `forReason(...)`). */
export const InjectSystemPrisma = (): ParameterDecorator & PropertyDecorator =>
  Inject(SYSTEM_PRISMA_CLIENT);
