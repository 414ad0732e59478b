import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { PrismaClient } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import { ApprovalItemsModule } from './approval-items/approval-items.module';
import { AppValidationPipe } from './common/app-validation.pipe';
import { readThrottle, type ThrottleOptions } from './config/environment';
import { ThrottleGuard } from './config/throttle.guard';
import { HealthModule } from './health/health.module';
import { PrismaExceptionFilter, PrismaModule, type PrismaModuleOptions } from 'nest-prisma-tenancy';
import { WorkspacesModule } from './workspaces/workspaces.module';

/** Options of the demo app itself (`AppModule.forRoot(prisma, options)`). */
export interface AppModuleOptions {
  /**
   * Rate limit per client address (`req.ip`) and route: at most `limit` requests per `ttlMs`, then
   * 429 with `Retry-After` until the window ends; `false` turns it off. Default: from
   * THROTTLE_LIMIT / THROTTLE_TTL_MS (600 per 60 s; off under NODE_ENV=test unless THROTTLE_LIMIT
   * is set). Behind a reverse proxy, make `req.ip` the client's address (Express `trust proxy`),
   * or every client shares the proxy's budget.
   */
  throttle?: ThrottleOptions | false;
}

/**
 * The demo API. nestjs-cls is mounted once here (one context per request); PrismaModule reads
 * DATABASE_URL, SYSTEM_DATABASE_URL, TENANT_SETTING_SECRET and the JWT_* variables, and the rate
 * limit THROTTLE_* (main.ts validates them first).
 */
@Module({})
export class AppModule {
  /**
   * @param prisma PrismaModule options (default: everything from the environment); tests and
   *   benchmarks pass pool sizes or `verifyMembership` here.
   * @param options the app's own options: tests raise or turn off the rate limit here.
   */
  static forRoot(prisma: PrismaModuleOptions = {}, options: AppModuleOptions = {}): DynamicModule {
    const throttle = options.throttle ?? readThrottle();
    const throttling: { imports: DynamicModule[]; providers: Provider[] } = throttle
      ? {
          imports: [
            ThrottlerModule.forRoot({
              throttlers: [{ limit: throttle.limit, ttl: throttle.ttlMs }],
            }),
          ],
          // Global guards run before controller guards: before @TenantScoped()'s TenantGuard.
          providers: [{ provide: APP_GUARD, useClass: ThrottleGuard }],
        }
      : { imports: [], providers: [] };
    return {
      module: AppModule,
      imports: [
        ClsModule.forRoot({ global: true, middleware: { mount: true } }),
        // The app's generated client: PrismaModule builds it with the tenant driver adapter.
        PrismaModule.forRoot({ isGlobal: true, client: PrismaClient, ...prisma }),
        ...throttling.imports,
        HealthModule,
        WorkspacesModule,
        ApprovalItemsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: PrismaExceptionFilter },
        { provide: APP_PIPE, useValue: new AppValidationPipe() },
        ...throttling.providers,
      ],
    };
  }
}
