/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging --
 * PrismaService and UnscopedPrismaService are injection tokens (abstract classes, so that
 * `constructor(private readonly prisma: PrismaService)` works) whose instance type is the client's
 * (an interface of the same name). Their values come from factories in PrismaModule. */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import type { TenantScopedClient } from '../core/client/tenant-client.types';
import { installSettingKey } from '../core/driver/setting-key.installer';
import { connectWithRetries } from '../core/driver/connect-retry';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from './prisma.module-definition';
import { requireUrl, resolvePrismaOptions, type ResolvedPrismaOptions } from './prisma-options';
import { RowLevelSecurityNotEnforcedError } from '../core/errors/row-level-security-not-enforced.error';
import { SettingKeyMismatchError } from '../core/errors/setting-key-mismatch.error';
import { SqlNamesMismatchError } from '../core/errors/sql-names-mismatch.error';
import { qualifiedFunction } from '../core/sql/tenancy-sql-names';
import { findSqlNameMismatches, rowsOf } from '../core/sql/tenancy-sql-names.check';
import { RowLevelSecurityVerifier } from '../core/rls/row-level-security.verifier';
import { createTenantAdapter } from '../core/client/tenant-extension';
import {
  instantiatePrismaClient,
  schemaSourceOf,
  type PrismaSchemaSource,
} from '../core/client/prisma-client-schema';
import type { TenantAwarePool } from '../core/driver/tenant-aware-pool';

interface PrismaLogEvent {
  message?: string;
  query?: string;
  params?: string;
  duration?: number;
}

/** What PrismaModule adds to the app's client instance. */
export interface PrismaServiceExtras {
  /** The module options with every default applied. */
  readonly settings: ResolvedPrismaOptions;
  /**
   * The connection pool under the client: every query on it runs with the current tenant's
   * setting (layer 2). For the rare hot path that must skip Prisma's engine, such as the
   * membership check on every request.
   */
  readonly tenantPool: TenantAwarePool;
  /** True when the database answers a trivial query now (needs no tenant). For health checks. */
  isHealthy(): Promise<boolean>;
}

/**
 * The tenant-scoped Prisma client: inject it with `constructor(private readonly prisma:
 * PrismaService)` (or `@InjectTenantPrisma()`). Every query on a tenant-owned model belongs to the
 * current tenant, in the client (layer 1, the query extension) and in PostgreSQL (layer 2, the
 * signed setting under Row-Level Security); with no tenant in context it refuses to run.
 *
 * Typed as `@prisma/client`'s PrismaClient (plus lookups by `{ id }` on models keyed by
 * `(workspaceId, id)`, see TenantScopedClient); with a client generated elsewhere, inject it as
 * `@InjectTenantPrisma() prisma: PrismaClient` with your own `PrismaClient` type.
 */
export interface PrismaService extends TenantScopedClient<PrismaClient>, PrismaServiceExtras {}
export abstract class PrismaService {}

/**
 * The same client without the query extension (layer 2 only: PostgreSQL still shows it only the
 * current tenant's rows). For health checks, global models and the tenant pool; prefer
 * PrismaService. Inject it by type or with `@InjectUnscopedPrisma()`.
 */
export interface UnscopedPrismaService extends PrismaClient, PrismaServiceExtras {}
export abstract class UnscopedPrismaService {}

/**
 * The connection behind PrismaService, and its lifecycle: it builds one instance of the app's
 * PrismaClient class over `@prisma/adapter-pg` and DATABASE_URL (through the tenant-aware pool),
 * connects on module init with bounded retries, installs the tenant setting key, verifies that
 * Row-Level Security is really enforced, sends Prisma's log events to Nest's Logger and
 * disconnects on application shutdown (call `app.enableShutdownHooks()`). Runs once per module.
 *
 * @throws InvalidPrismaModuleOptionsError when the `client` option is not a usable PrismaClient
 *   class (e.g. generated without `engineType = "client"`).
 */
@Injectable()
export class PrismaConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PrismaModule');
  readonly settings: ResolvedPrismaOptions;
  /** The app's client instance, unextended, with PrismaServiceExtras. */
  readonly client: UnscopedPrismaService;
  readonly tenantPool: TenantAwarePool;
  /** The app's schema, read from its client. */
  readonly source: PrismaSchemaSource;

  constructor(@Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions) {
    const settings = resolvePrismaOptions(options);
    const adapter = createTenantAdapter(requireUrl(settings), {
      ...settings.pool,
      settingSecret: settings.settingSecret,
      sql: settings.sql,
    });
    const client = instantiatePrismaClient(settings.client, {
      adapter,
      log: settings.log.map((level) => ({ emit: 'event' as const, level })),
    }) as PrismaClient;
    this.source = schemaSourceOf(client, settings.prismaNamespace);
    this.settings = settings;
    this.tenantPool = adapter.pool;
    const extras: PrismaServiceExtras = {
      settings,
      tenantPool: adapter.pool,
      // Bound to the unextended client: on PrismaService (which forwards it) it needs no tenant.
      isHealthy: () => this.isHealthy(),
    };
    for (const [key, value] of Object.entries(extras)) {
      Object.defineProperty(client, key, { value, enumerable: false });
    }
    this.client = client as UnscopedPrismaService;
    const on = client.$on.bind(client) as (
      event: string,
      listener: (e: PrismaLogEvent) => void,
    ) => void;
    for (const level of settings.log) {
      on(level, (event) => {
        if (level === 'query') {
          this.logger.debug(`${event.query} ${event.params ?? ''} (${event.duration ?? '?'} ms)`);
        } else if (level === 'error') {
          // Prisma emits this for every failed query, also for those that answer an expected 4xx
          // (P2025 not found, P2002 unique); the same error is thrown to the caller, and
          // PrismaExceptionFilter logs the ones that answer 5xx at error level.
          this.logger.debug(event.message);
        } else if (level === 'warn') this.logger.warn(event.message);
        else this.logger.log(event.message);
      });
    }
  }

  async onModuleInit(): Promise<void> {
    await this.connectWithRetries();
    await this.installSettingKey();
    if (this.settings.rlsCheck !== 'off') {
      await new RowLevelSecurityVerifier(this, { ...this.settings, source: this.source }).verify(
        this.logger,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.client.$disconnect();
    } catch (error) {
      // nestjs/typeorm's rule: shutdown logs, never throws.
      this.logger.error(`Error while disconnecting: ${(error as Error).message}`);
    }
  }

  /** True when the database answers a trivial query now. For health checks. */
  async isHealthy(): Promise<boolean> {
    try {
      await this.client.$queryRawUnsafe('SELECT 1');
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
   * @throws SqlNamesMismatchError when the database's tenancy functions have other names than
   *   the `sql` option.
   * @throws RowLevelSecurityNotEnforcedError when the migrations that verify it are missing.
   */
  private async installSettingKey(): Promise<void> {
    const { sql } = this.settings;
    const outcome = await installSettingKey(
      this.tenantPool,
      this.tenantPool.settings.signer.key,
      this.settings.settingMaxAgeSeconds,
      sql,
    );
    if (outcome === 'missing') {
      const mismatches = await findSqlNameMismatches(rowsOf(this.tenantPool), sql);
      const problem =
        mismatches.length > 0
          ? new SqlNamesMismatchError(mismatches)
          : new RowLevelSecurityNotEnforcedError(
              [
                `the database has no tenant setting verifier (${qualifiedFunction(sql, 'installKeyFunction')}); apply ` +
                  'the migrations (npm run db:deploy) or generate them for your schema',
              ],
              sql,
            );
      if (this.settings.rlsCheck === 'error') throw problem;
      this.logger.warn(problem.message);
      return;
    }
    if (outcome === 'mismatch') throw new SettingKeyMismatchError(sql);
    if (outcome === 'installed')
      this.logger.log('Installed the tenant setting key in the database');
  }

  /**
   * Connects with bounded retries (`connectRetries`, `connectRetryDelayMs`), one warning line per
   * retry. The probe runs on the tenant pool, not through Prisma, so that a failed attempt does not
   * also print Prisma's error event; a permanent failure (no such database or role, a wrong
   * password) stops at once.
   */
  private async connectWithRetries(): Promise<void> {
    await connectWithRetries(
      async () => {
        await this.client.$connect();
        await this.tenantPool.query('SELECT 1');
      },
      {
        url: requireUrl(this.settings),
        variable: 'DATABASE_URL',
        attempts: this.settings.connectRetries,
        delayMs: this.settings.connectRetryDelayMs,
        onRetry: (message) => this.logger.warn(message),
      },
    );
  }
}
