import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, readEnvironment } from './config/environment';
import { InvalidEnvironmentError } from './config/invalid-environment.error';
import { prepareDatabase } from './database/database-bootstrap';
import { DatabaseUnreachableError } from 'nest-prisma-tenancy';
import { EmbeddedPostgresError } from './database/embedded-postgres';
import { MigrationFailedError } from './database/migration-failed.error';
import { AppModule } from './app.module';
import { TenancyError } from 'nest-prisma-tenancy';
import { InvalidPrismaModuleOptionsError } from 'nest-prisma-tenancy';
import { MissingJwtKeyError } from 'nest-prisma-tenancy';

/** Start-up failures whose message already says what to do: printed without a stack. */
const EXPLAINED = [
  InvalidEnvironmentError,
  DatabaseUnreachableError,
  MigrationFailedError,
  TenancyError,
  InvalidPrismaModuleOptionsError,
  MissingJwtKeyError,
  EmbeddedPostgresError,
];

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  loadDotEnv();
  const env = readEnvironment();
  const database = await prepareDatabase(env);
  if (database.embedded) {
    logger.log(
      `Using the embedded PostgreSQL (${new URL(database.directUrl).host}); set DATABASE_URL to use your own`,
    );
  }
  process.env.DATABASE_URL = database.databaseUrl;
  process.env.DIRECT_URL = database.directUrl;
  if (database.systemDatabaseUrl) process.env.SYSTEM_DATABASE_URL = database.systemDatabaseUrl;
  // readEnvironment allows the public development secrets only with the embedded PostgreSQL.
  if (env.jwtSecretIsDevelopmentDefault) {
    process.env.JWT_SECRET = env.jwtSecret;
    logger.warn(
      'JWT_SECRET is not set: using the public development secret (embedded PostgreSQL only)',
    );
  }
  if (env.tenantSettingSecretIsDevelopmentDefault) {
    process.env.TENANT_SETTING_SECRET = env.tenantSettingSecret;
    logger.warn(
      'TENANT_SETTING_SECRET is not set: using the public development key (embedded PostgreSQL only)',
    );
  }

  const app = await NestFactory.create(AppModule.forRoot({}, { throttle: env.throttle }), {
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const stopDatabase = async () => database.stop();
  process.once('beforeExit', () => void stopDatabase());
  try {
    await app.listen(env.port);
  } catch (error) {
    await app.close().catch(() => undefined);
    await stopDatabase();
    throw error;
  }
  logger.log(`Listening on http://localhost:${env.port}`);
}

bootstrap().catch((error: unknown) => {
  if (EXPLAINED.some((type) => error instanceof type)) {
    console.error(`\n${(error as Error).name}: ${(error as Error).message}\n`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
