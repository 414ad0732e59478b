import { readEnvironment } from '../../src/config/environment';
import {
  applyMigrations,
  assertReachable,
  recreateDatabase,
  setEmbeddedRolePasswords,
  withDatabase,
} from '../../src/database/database-bootstrap';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { randomBytes } from 'node:crypto';
import { installSettingKey } from '../support/tenant-setting';
import type { TestGlobals } from './test-database';

function passwordOf(url: string | undefined): string {
  return url ? decodeURIComponent(new URL(url).password) : '';
}

/**
 * Creates a fresh, migrated test database and points DATABASE_URL (app_runtime), DIRECT_URL (owner)
 * and SYSTEM_DATABASE_URL (app_admin) at it for every test. Uses the server of DIRECT_URL when set
 * (CI: the local PostgreSQL), otherwise the embedded PostgreSQL.
 */
export default async function globalSetup(): Promise<void> {
  const TEST_DATABASE = `tenancy_test_${process.pid}`;
  process.env.TEST_DATABASE_NAME = TEST_DATABASE;
  // readEnvironment refuses the public development secrets for a database of your own: one random
  // secret of each kind per run, unless set by the caller. The processes the tests start (the
  // Prisma CLI, apps) inherit them.
  process.env.JWT_SECRET ||= randomBytes(48).toString('base64url');
  process.env.TENANT_SETTING_SECRET ||= randomBytes(48).toString('base64url');
  const env = readEnvironment({ ...process.env, NODE_ENV: 'test' });
  const globals = globalThis as TestGlobals;
  let ownerUrl: string;
  let runtimeUrl: string;
  let systemUrl: string;

  if (env.directUrl) {
    await assertReachable(env.directUrl, 'DIRECT_URL');
    ownerUrl = withDatabase(env.directUrl, TEST_DATABASE);
    runtimeUrl = withDatabase(
      env.directUrl,
      TEST_DATABASE,
      'app_runtime',
      passwordOf(env.databaseUrl),
    );
    systemUrl = withDatabase(
      env.directUrl,
      TEST_DATABASE,
      'app_admin',
      passwordOf(env.systemDatabaseUrl),
    );
  } else {
    const server = await startEmbeddedPostgres();
    globals.__EMBEDDED_POSTGRES__ = server;
    ownerUrl = server.urlFor(TEST_DATABASE);
    runtimeUrl = server.urlFor(TEST_DATABASE, 'app_runtime', 'app_runtime');
    systemUrl = server.urlFor(TEST_DATABASE, 'app_admin', 'app_admin');
  }

  await recreateDatabase(ownerUrl, TEST_DATABASE);
  await applyMigrations(ownerUrl);
  // The run's tenant setting secret (set above), its key installed up front: tests that talk to
  // PostgreSQL without starting an app sign their settings with it too (test/support/tenant-setting.ts).
  await installSettingKey(ownerUrl, process.env.TENANT_SETTING_SECRET);
  if (globals.__EMBEDDED_POSTGRES__) await setEmbeddedRolePasswords(ownerUrl);

  process.env.NODE_ENV = 'test';
  process.env.DIRECT_URL = ownerUrl;
  process.env.DATABASE_URL = runtimeUrl;
  process.env.SYSTEM_DATABASE_URL = systemUrl;
}
