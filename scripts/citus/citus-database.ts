/**
 * Prepares the project's database on a Citus cluster: the committed migrations on the coordinator,
 * then `prisma/citus/distribute.sql` (distribution of the tables, Citus-only), then the tenant
 * setting key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { installSettingKey, TenantSettingSigner } from 'nest-prisma-tenancy';
import { applyMigrations, runSql } from '../../src/database/database-bootstrap';
import { PROJECT_ROOT } from '../../src/database/project-root';
import type { CitusCluster } from './citus-cluster';

export interface CitusDatabaseUrls {
  /** Owner (superuser) on the coordinator: migrations. */
  directUrl: string;
  /** app_runtime on the coordinator. */
  databaseUrl: string;
  /** app_admin on the coordinator. */
  systemDatabaseUrl: string;
}

export const CITUS_ROLE_PASSWORDS = { app_runtime: 'app_runtime', app_admin: 'app_admin' } as const;

export async function prepareCitusDatabase(
  cluster: CitusCluster,
  options: { log?: (line: string) => void } = {},
): Promise<CitusDatabaseUrls> {
  const log = options.log ?? (() => undefined);
  const directUrl = cluster.urlFor();
  let started = Date.now();
  await applyMigrations(directUrl);
  log(`migrations applied on the coordinator (${Date.now() - started} ms)`);
  started = Date.now();
  await runSql(
    directUrl,
    readFileSync(join(PROJECT_ROOT, 'prisma', 'citus', 'distribute.sql'), 'utf8'),
  );
  log(`tables distributed (${Date.now() - started} ms)`);
  await runSql(
    directUrl,
    Object.entries(CITUS_ROLE_PASSWORDS)
      .map(
        ([role, pw]) => `ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(pw)};`,
      )
      .join('\n'),
  );
  process.env.TENANT_SETTING_SECRET ||= randomBytes(48).toString('base64url');
  // The coordinator's install function (prisma/citus/distribute.sql) copies the key to the workers.
  const owner = new pg.Client({ connectionString: directUrl });
  await owner.connect();
  try {
    const outcome = await installSettingKey(
      owner,
      new TenantSettingSigner(process.env.TENANT_SETTING_SECRET).key,
      300,
    );
    if (outcome !== 'installed' && outcome !== 'unchanged') {
      throw new Error(`installing the tenant setting key on the cluster: ${outcome}`);
    }
  } finally {
    await owner.end();
  }
  return {
    directUrl,
    databaseUrl: cluster.urlFor(cluster.database, 'app_runtime', CITUS_ROLE_PASSWORDS.app_runtime),
    systemDatabaseUrl: cluster.urlFor(
      cluster.database,
      'app_admin',
      CITUS_ROLE_PASSWORDS.app_admin,
    ),
  };
}
