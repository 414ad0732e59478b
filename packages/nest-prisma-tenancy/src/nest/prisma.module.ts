import { Module, type Provider } from '@nestjs/common';
import { MembershipVerifier } from './tenancy/membership-verifier';
import { TenantGuard } from './tenancy/tenant.guard';
import { TokenVerifier } from './tenancy/token-verifier';
import { SYSTEM_PRISMA_CLIENT, TENANT_PRISMA_CLIENT } from './prisma.constants';
import { ConfigurablePrismaModule, PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { PrismaConnection, PrismaService, UnscopedPrismaService } from './prisma.service';
import { SystemPrisma } from './system-prisma';
import { createTenantPrismaClient } from '../core/client/tenant-extension';

/** The app's client instance, unextended: PrismaConnection builds it and runs its lifecycle. */
const unscopedClientProvider: Provider = {
  provide: UnscopedPrismaService,
  inject: [PrismaConnection],
  useFactory: (connection: PrismaConnection): UnscopedPrismaService => connection.client,
};

/** `$extends` returns a new object: the tenant-scoped client is provided from a factory. */
const tenantClientProvider: Provider = {
  provide: PrismaService,
  inject: [PrismaConnection],
  useFactory: (connection: PrismaConnection): PrismaService => {
    const { settings } = connection;
    return createTenantPrismaClient(connection.client, {
      tenantField: settings.tenantField,
      tenantModels: settings.tenantModels,
      tenantRootModel: settings.tenantRootModel,
      identity: settings.identity,
      prismaNamespace: settings.prismaNamespace,
    }) as PrismaService;
  },
};

const tenantClientAlias: Provider = { provide: TENANT_PRISMA_CLIENT, useExisting: PrismaService };

const systemClientProvider: Provider = { provide: SYSTEM_PRISMA_CLIENT, useExisting: SystemPrisma };

/**
 * Tenant-aware data access for Nest on Prisma and PostgreSQL.
 *
 * Provides `PrismaService` (the app's client, tenant-scoped: both layers; `@InjectTenantPrisma()`
 * is an alias), `UnscopedPrismaService` (the same client without the query extension, under
 * Row-Level Security only; `@InjectUnscopedPrisma()`), the logged system client
 * (`@InjectSystemPrisma()`) and what `@TenantScoped()` needs. One connection, connected, checked
 * and disconnected once. The app must mount nestjs-cls once:
 * `ClsModule.forRoot({ global: true, middleware: { mount: true } })`.
 *
 * @example
 * import { PrismaClient } from '@prisma/client'; // or your generator's output
 * PrismaModule.forRoot({ isGlobal: true, client: PrismaClient })
 * PrismaModule.forRootAsync({
 *   isGlobal: true,
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     client: PrismaClient,
 *     url: config.getOrThrow('DATABASE_URL'),
 *   }),
 * })
 */
@Module({
  providers: [
    PrismaConnection,
    unscopedClientProvider,
    tenantClientProvider,
    tenantClientAlias,
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
    UnscopedPrismaService,
    TENANT_PRISMA_CLIENT,
    SystemPrisma,
    SYSTEM_PRISMA_CLIENT,
    TokenVerifier,
    MembershipVerifier,
    TenantGuard,
  ],
})
export class PrismaModule extends ConfigurablePrismaModule {}
