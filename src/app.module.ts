import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ClsModule } from 'nestjs-cls';
import { ApprovalItemsModule } from './approval-items/approval-items.module';
import { AppValidationPipe } from './common/app-validation.pipe';
import { HealthModule } from './health/health.module';
import { PrismaExceptionFilter, PrismaModule, type PrismaModuleOptions } from './prisma';
import { WorkspacesModule } from './workspaces/workspaces.module';

/**
 * The demo API. nestjs-cls is mounted once here (one context per request); PrismaModule reads
 * DATABASE_URL, SYSTEM_DATABASE_URL and the JWT_* variables (main.ts validates them first).
 */
@Module({})
export class AppModule {
  /**
   * @param prisma PrismaModule options (default: everything from the environment); tests and
   *   benchmarks pass pool sizes or `verifyMembership` here.
   */
  static forRoot(prisma: PrismaModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ClsModule.forRoot({ global: true, middleware: { mount: true } }),
        PrismaModule.forRoot({ isGlobal: true, ...prisma }),
        HealthModule,
        WorkspacesModule,
        ApprovalItemsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: PrismaExceptionFilter },
        { provide: APP_PIPE, useValue: new AppValidationPipe() },
      ],
    };
  }
}
