import { Module, type Provider } from '@nestjs/common';
import { MembershipVerifier } from './tenancy/membership-verifier';
import { TenantGuard } from './tenancy/tenant.guard';
import { TokenVerifier } from './tenancy/token-verifier';
import { SYSTEM_PRISMA_CLIENT, TENANT_PRISMA_CLIENT } from './prisma.constants';
import { ConfigurablePrismaModule, PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { PrismaService } from './prisma.service';
import { SystemPrisma } from './system-prisma';
import { createTenantPrismaClient, type TenantPrismaClient } from '../core/client/tenant-extension';

const tenantClientProvider: Provider = {
  provide: TENANT_PRISMA_CLIENT,
  inject: [PrismaService],
  useFactory: (prisma: PrismaService): TenantPrismaClient =>
    createTenantPrismaClient(prisma, {
      tenantField: prisma.settings.tenantField,
      tenantModels: prisma.settings.tenantModels,
      tenantRootModel: prisma.settings.tenantRootModel,
      identity: prisma.settings.identity,
    }),
};

const systemClientProvider: Provider = { provide: SYSTEM_PRISMA_CLIENT, useExisting: SystemPrisma };

/**
 * Tenant-aware data access for Nest on Prisma and PostgreSQL.
 *
 * Provides `PrismaService` (lifecycle-managed client), the tenant-scoped client
 * (`@InjectTenantPrisma()`), the logged system client (`@InjectSystemPrisma()`) and what
 * `@TenantScoped()` needs. The app must mount nestjs-cls once:
 * `ClsModule.forRoot({ global: true, middleware: { mount: true } })`.
 *
 * @example
 * PrismaModule.forRoot({ isGlobal: true })
 * PrismaModule.forRootAsync({
 *   isGlobal: true,
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ url: config.getOrThrow('DATABASE_URL') }),
 * })
 */
@Module({
  providers: [
    PrismaService,
    tenantClientProvider,
    SystemPrisma,
    systemClientProvider,
    TokenVerifier,
    MembershipVerifier,
    TenantGuard,
  ],
  exports: [
    // @UseGuards(TenantGuard) instantiates the guard in each feature module: it needs the options.
    PRISMA_MODULE_OPTIONS,
    PrismaService,
    TENANT_PRISMA_CLIENT,
    SystemPrisma,
    SYSTEM_PRISMA_CLIENT,
    TokenVerifier,
    MembershipVerifier,
    TenantGuard,
  ],
})
export class PrismaModule extends ConfigurablePrismaModule {}
