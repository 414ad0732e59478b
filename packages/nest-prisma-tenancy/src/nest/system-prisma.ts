import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaClient } from '@prisma/client';
import { instantiatePrismaClient } from '../core/client/prisma-client-schema';
import pg from 'pg';
import { SystemClientUnavailableError } from '../core/errors/system-client-unavailable.error';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { resolvePrismaOptions, type ResolvedPrismaOptions } from './prisma-options';
import { poolConfigFor, tenantContext } from '../core/client/tenant-extension';

/**
 * The explicit, logged escape hatch for cross-tenant administration (billing runs, support tools,
 * data exports). It connects as the admin role (`sql.adminRole`, default `app_admin`), whose
 * Row-Level Security policy is keyed on the role itself, so it sees every tenant; nothing in the
 * tenant client can switch to it.
 *
 * Every use names its reason and is logged (warn level, logger `SystemPrisma`), which makes the
 * escape hatch greppable in code (`forReason(`) and visible in logs.
 *
 * @example
 * constructor(@InjectSystemPrisma() private readonly system: SystemPrisma) {}
 * const total = await this.system.forReason('monthly usage report').approvalItem.count();
 */
@Injectable()
export class SystemPrisma implements OnApplicationShutdown {
  private readonly logger = new Logger('SystemPrisma');
  private client: PrismaClient | undefined;
  private readonly settings: ResolvedPrismaOptions;

  constructor(@Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions) {
    this.settings = resolvePrismaOptions(options);
  }

  /**
   * The unscoped client (an instance of the app's `client` class), after logging `reason`, the caller's user and tenant context.
   *
   * @throws SystemClientUnavailableError without a reason or without a configured connection.
   */
  forReason(reason: string): PrismaClient {
    if (typeof reason !== 'string' || reason.trim().length < 3) {
      throw new SystemClientUnavailableError(
        'a reason (at least 3 characters) is required',
        this.settings.sql.adminRole,
      );
    }
    const url = this.settings.systemUrl;
    if (!url) {
      throw new SystemClientUnavailableError(
        'no systemUrl / SYSTEM_DATABASE_URL is set',
        this.settings.sql.adminRole,
      );
    }
    this.logger.warn(
      `Cross-tenant access: "${reason.trim()}" (user ${tenantContext.getUserId() ?? '-'}, ` +
        `tenant context ${tenantContext.getTenantId() ?? '-'})`,
    );
    this.client ??= instantiatePrismaClient(this.settings.client, {
      adapter: new PrismaPg(new pg.Pool(poolConfigFor(url, this.settings.pool)), {
        disposeExternalPool: true,
      }),
    }) as PrismaClient;
    return this.client;
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.client?.$disconnect();
    } catch (error) {
      this.logger.error(`Error while disconnecting: ${(error as Error).message}`);
    }
  }
}
