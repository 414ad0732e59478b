import pg from 'pg';
import { withDatabase } from '../../src/database/database-bootstrap';
import type { TestGlobals } from './test-database';

/** Drops this run's test database and stops the embedded PostgreSQL if the setup started it. */
export default async function globalTeardown(): Promise<void> {
  const name = process.env.TEST_DATABASE_NAME;
  const owner = process.env.DIRECT_URL;
  if (name && owner) {
    const admin = new pg.Client({ connectionString: withDatabase(owner, 'postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
  await (globalThis as TestGlobals).__EMBEDDED_POSTGRES__?.stop();
}
