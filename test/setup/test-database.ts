import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';

/** The database every test run recreates and migrates. */
export const TEST_DATABASE = 'tenancy_test';

export type TestGlobals = typeof globalThis & { __EMBEDDED_POSTGRES__?: EmbeddedPostgresHandle };
