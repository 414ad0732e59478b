import { Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ClsModule } from 'nestjs-cls';
import { ApprovalItemsModule } from './approval-items/approval-items.module';
import { HealthModule } from './health/health.module';
import { PrismaExceptionFilter, PrismaModule } from './prisma';
import { WorkspacesModule } from './workspaces/workspaces.module';

/**
 * The demo API. nestjs-cls is mounted once here (one context per request); PrismaModule reads
 * DATABASE_URL, SYSTEM_DATABASE_URL and the JWT_* variables (main.ts validates them first).
 */
@Module({
  imports: [
    ClsModule.forRoot({ global: true, middleware: { mount: true } }),
    PrismaModule.forRoot({ isGlobal: true }),
    HealthModule,
    WorkspacesModule,
    ApprovalItemsModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: PrismaExceptionFilter },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        transform: true,
        stopAtFirstError: false,
      }),
    },
  ],
})
export class AppModule {}
