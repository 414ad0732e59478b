import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClsModule } from 'nestjs-cls';
import { PrismaExceptionFilter, PrismaModule } from 'nest-prisma-tenancy';
import { PrismaClient } from './generated/prisma';
import { ProjectsController } from './projects.controller';

@Module({
  imports: [
    ClsModule.forRoot({ global: true, middleware: { mount: true } }),
    PrismaModule.forRoot({
      isGlobal: true,
      client: PrismaClient, // the client generated at prisma/schema.prisma's custom output
      url: process.env.DATABASE_URL, // as app_runtime
      systemUrl: process.env.SYSTEM_DATABASE_URL, // as app_admin
      settingSecret: process.env.TENANT_SETTING_SECRET,
      tenantField: 'orgId',
      tenantRootModel: 'Organization',
      auth: { resolve: 'request', tenantIdPath: 'user.orgId' }, // req.user = { id, orgId }
      membership: { model: 'Membership', tenantField: 'orgId', userField: 'userId' },
      identity: { userModel: 'User', membershipModel: 'Membership', userField: 'userId' },
    }),
  ],
  controllers: [ProjectsController],
  providers: [{ provide: APP_FILTER, useClass: PrismaExceptionFilter }],
})
export class AppModule {}
