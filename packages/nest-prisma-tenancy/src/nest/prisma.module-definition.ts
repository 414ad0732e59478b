import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { PrismaModuleOptions } from './interfaces/prisma-module-options.interface';

export const {
  ConfigurableModuleClass: ConfigurablePrismaModule,
  MODULE_OPTIONS_TOKEN: PRISMA_MODULE_OPTIONS,
  OPTIONS_TYPE: PRISMA_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: PRISMA_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<PrismaModuleOptions>({ moduleName: 'Prisma' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createPrismaOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
