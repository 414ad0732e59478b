import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { PrismaClient } from '@prisma/client';
import {
  connectionFailureReason,
  DatabaseUnreachableError,
  describeTarget,
} from '../core/errors/database-unreachable.error';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { requireUrl, resolvePrismaOptions, type ResolvedPrismaOptions } from './prisma-options';
import type { QueryResult } from 'pg';
import { RowLevelSecurityNotEnforcedError } from '../core/errors/row-level-security-not-enforced.error';
import { SettingKeyMismatchError } from '../core/errors/setting-key-mismatch.error';
import { RowLevelSecurityVerifier } from '../core/rls/row-level-security.verifier';
import { createTenantAdapter } from '../core/client/tenant-extension';
import type { TenantAwarePool } from '../core/driver/tenant-aware-pool';

interface PrismaLogEvent {
  message?: string;
  query?: string;
  params?: string;
  duration?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The lifecycle-managed Prisma client: one PrismaClient over `@prisma/adapter-pg` and DATABASE_URL
 * (through the tenant-aware pool, so even this unextended client runs under the current tenant's
 * Row-Level Security setting). It connects on module init with bounded retries, verifies that
 * Row-Level Security is really enforced, sends Prisma's log events to Nest's Logger and
 * disconnects on application shutdown (call `app.enableShutdownHooks()`).
 *
 * Inject the tenant-scoped client (`@InjectTenantPrisma()`) for application queries; this class
 * is for lifecycle, health checks and global models.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PrismaModule');
  readonly settings: ResolvedPrismaOptions;
  /**
   * The connection pool under this client: every query on it runs with the current tenant's
   * setting (layer 2). For the rare hot path that must skip Prisma's engine, such as the
   * membership check on every request.
   */
  readonly tenantPool: TenantAwarePool;
  /**
   * The tenant client is `$extends` of this instance and inherits these lifecycle methods, so Nest
   * calls them on it too; `#brand in this` is false there (a proxy), and they do nothing.
   */
  readonly #brand = true;

  constructor(@Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions) {
    const settings = resolvePrismaOptions(options);
    const adapter = createTenantAdapter(requireUrl(settings), {
      ...settings.pool,
      settingSecret: settings.settingSecret,
    });
    super({
      adapter,
      log: settings.log.map((level) => ({ emit: 'event' as const, level })),
    });
    this.settings = settings;
    this.tenantPool = adapter.pool;
    const on = this.$on.bind(this) as (
      event: string,
      listener: (e: PrismaLogEvent) => void,
    ) => void;
    for (const level of settings.log) {
      on(level, (event) => {
        if (level === 'query') {
          this.logger.debug(`${event.query} ${event.params ?? ''} (${event.duration ?? '?'} ms)`);
        } else if (level === 'error') this.logger.error(event.message);
        else if (level === 'warn') this.logger.warn(event.message);
        else this.logger.log(event.message);
      });
    }
  }

  async onModuleInit(): Promise<void> {
    if (!(#brand in this)) return;
    await this.connectWithRetries();
    await this.installSettingKey();
    if (this.settings.rlsCheck !== 'off') {
      await new RowLevelSecurityVerifier(this, this.settings).verify(this.logger);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(#brand in this)) return;
    try {
      await this.$disconnect();
    } catch (error) {
      // nestjs/typeorm's rule: shutdown logs, never throws.
      this.logger.error(`Error while disconnecting: ${(error as Error).message}`);
    }
  }

  /** True when the database answers a trivial query now. For health checks. */
  async isHealthy(): Promise<boolean> {
    try {
      await this.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores the key that verifies the signed tenant setting in the database on first start (as
   * the runtime role, through a function that never replaces a different key), and checks that
   * the database's key is this app's.
   *
   * @throws SettingKeyMismatchError when the database holds another key.
   * @throws RowLevelSecurityNotEnforcedError when the migrations that verify it are missing.
   */
  private async installSettingKey(): Promise<void> {
    let outcome: string | undefined;
    try {
      const result = (await this.tenantPool.query(
        'SELECT public.tenancy_install_setting_key($1, $2) AS outcome',
        [this.tenantPool.settings.signer.key, this.settings.settingMaxAgeSeconds],
      )) as QueryResult<{ outcome: string }>;
      outcome = result.rows[0]?.outcome;
    } catch (error) {
      if ((error as { code?: string }).code !== '42883') throw error;
      const problem = new RowLevelSecurityNotEnforcedError([
        'the database has no tenant setting verifier (public.tenancy_install_setting_key); apply ' +
          'the migrations (npm run db:deploy) or generate them for your schema',
      ]);
      if (this.settings.rlsCheck === 'error') throw problem;
      this.logger.warn(problem.message);
      return;
    }
    if (outcome === 'mismatch') throw new SettingKeyMismatchError();
    if (outcome === 'installed')
      this.logger.log('Installed the tenant setting key in the database');
  }

  private async connectWithRetries(): Promise<void> {
    const attempts = Math.max(1, this.settings.connectRetries);
    let delay = this.settings.connectRetryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.$connect();
        await this.$queryRawUnsafe('SELECT 1');
        return;
      } catch (error) {
        if (attempt >= attempts) {
          const { host, port } = describeTarget(requireUrl(this.settings));
          throw new DatabaseUnreachableError(
            'DATABASE_URL',
            host,
            port,
            connectionFailureReason(error),
            attempts,
          );
        }
        this.logger.warn(
          `Database not reachable (attempt ${attempt}/${attempts}: ${connectionFailureReason(error)}); retrying in ${delay} ms`,
        );
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
