import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';

/**
 * The database of this test run: created and migrated by the global setup, dropped by the
 * teardown. Unique per run (the setup names it after its process id), so concurrent runs on one
 * server do not drop each other's database.
 */
export const TEST_DATABASE = process.env.TEST_DATABASE_NAME ?? 'tenancy_test';

export type TestGlobals = typeof globalThis & { __EMBEDDED_POSTGRES__?: EmbeddedPostgresHandle };
