import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations, runPrisma, withDatabase } from '../../src/database/database-bootstrap';
import { PRISMA6_SCHEMA } from '../../src/database/prisma6-schema';
import { MigrationFailedError } from '../../src/database/migration-failed.error';
import { PROJECT_ROOT } from '../../src/database/project-root';

/** Every migration committed in prisma/migrations, in the order Prisma applies them. */
const COMMITTED_MIGRATIONS = readdirSync(join(PROJECT_ROOT, 'prisma', 'migrations'), {
  withFileTypes: true,
})
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const PRISMA_TIMEOUT = 120_000;

/** Creates (or recreates) an empty database on the server of DIRECT_URL; returns its owner URL. */
async function recreateDatabase(name: string): Promise<string> {
  const admin = new pg.Client({
    connectionString: withDatabase(process.env.DIRECT_URL as string, 'postgres'),
  });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return withDatabase(process.env.DIRECT_URL as string, name);
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({
    connectionString: withDatabase(process.env.DIRECT_URL as string, 'postgres'),
  });
  await admin.connect();
  try {
    // FORCE ends what the Prisma CLI may have left connected.
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  describe('on an empty database', () => {
    const database = `tenancy_migrate_test_${process.pid}`;
    let url: string;

    beforeAll(async () => {
      url = await recreateDatabase(database);
    });

    afterAll(async () => {
      await dropDatabase(database);
    });

    it(
      'apply with prisma migrate deploy, and migrate status then reports the schema up to date',
      async () => {
        const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: url, directUrl: url });
        expect({ code: deploy.code, output: deploy.output }).toEqual({
          code: 0,
          output: expect.stringContaining('All migrations have been successfully applied.'),
        });

        const status = await runPrisma(['migrate', 'status'], { databaseUrl: url, directUrl: url });
        expect({ code: status.code, output: status.output }).toEqual({
          code: 0,
          output: expect.stringContaining('Database schema is up to date!'),
        });

        const { rows } = await query(
          url,
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1',
        );
        expect(rows).toEqual(COMMITTED_MIGRATIONS.map((name) => ({ migration_name: name })));
        expect(COMMITTED_MIGRATIONS.slice(0, 2)).toEqual([
          '20261126000000_init',
          '20261126000100_row_level_security',
        ]);
      },
      PRISMA_TIMEOUT,
    );

    it(
      'produce exactly schema.prisma (no drift)',
      async () => {
        const diff = await runPrisma(
          [
            'migrate',
            'diff',
            '--from-migrations',
            'prisma/migrations',
            '--to-schema-datamodel',
            PRISMA6_SCHEMA,
            '--exit-code',
          ],
          { databaseUrl: url, directUrl: url },
        );
        expect({ code: diff.code, output: diff.output }).toEqual({
          code: 0,
          output: expect.stringContaining('No difference detected.'),
        });
      },
      PRISMA_TIMEOUT,
    );
  });

  describe('when a migration fails', () => {
    const database = `tenancy_migrate_fail_test_${process.pid}`;
    let url: string;

    beforeAll(async () => {
      url = await recreateDatabase(database);
    });

    afterAll(async () => {
      await dropDatabase(database);
    });

    it(
      "surfaces Prisma's message, with the database's own error, and how to inspect the state",
      async () => {
        // The tables exist but Prisma's record of them is lost: the first migration runs again and
        // fails on objects that already exist.
        await applyMigrations(url);
        await query(url, 'DELETE FROM _prisma_migrations');

        const failure: unknown = await applyMigrations(url).catch((error: unknown) => error);

        expect(failure).toBeInstanceOf(MigrationFailedError);
        const { message } = failure as MigrationFailedError;
        expect(message).toMatch(/^Applying the migrations failed\. Prisma said:\n/);
        expect(message).toContain('migration_name="20261126000000_init"');
        expect(message).toContain('Inspect the state with: npm run db:status');
        expect(message).not.toContain('Loaded Prisma config');
        // Without the database's error the message only says "external connector error".
        expect(message).toContain('ERROR: type "workspace_role" already exists');
      },
      PRISMA_TIMEOUT,
    );
  });
});
