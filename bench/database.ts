/**
 * The benchmark's database: dropped, recreated, migrated and seeded on every run.
 *
 * Server: DIRECT_URL's (from the shell or `.env`), else `postgresql://postgres@127.0.0.1:5432`;
 * when that default server does not answer, the project's embedded PostgreSQL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { readEnvironment } from '../src/config/environment';
import {
  answers,
  applyMigrations,
  prepareDatabase,
  recreateDatabase,
  setEmbeddedRolePasswords,
  withDatabase,
} from '../src/database/database-bootstrap';
import { installSettingKey as storeKey, TenantSettingSigner } from 'nest-prisma-tenancy';

/** The default server when DIRECT_URL is unset. */
const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** One seeded workspace: its id, its members' user ids and its approval item ids. */
export interface SeededWorkspace {
  id: string;
  userIds: string[];
  itemIds: string[];
  /** Items reserved for the update benchmark (never read by the lookup benchmark). */
  updateIds: string[];
}

/** Connections to the benchmark database and what the seed created. */
export interface BenchDatabase {
  database: string;
  /** Owner role (migrations, seed, and the "no tenancy" paths). */
  ownerUrl: string;
  /** `app_runtime` (tenant paths; Row-Level Security applies). */
  runtimeUrl: string;
  /** `app_admin` (the demo app's system client). */
  adminUrl: string;
  /** True when the owner is a superuser, so that Row-Level Security does not apply to it. */
  ownerIsSuperuser: boolean;
  /** `SHOW server_version`. */
  serverVersion: string;
  embedded: boolean;
  workspaces: SeededWorkspace[];
  /** Total approval items seeded (full workspaces only). */
  items: number;
  stop(): Promise<void>;
}

/**
 * Deletes every workspace but the first, with its rows in every table that has a `workspace_id`
 * column and the users left without a membership: the tenant-count benchmark's one-workspace
 * database, made at the end of the run. Superuser only (triggers and foreign-key checks are
 * skipped for speed; nothing is left pointing at a deleted row that the benchmark reads).
 */
export async function keepOnlyFirstWorkspace(db: BenchDatabase): Promise<void> {
  const [first] = db.workspaces;
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL session_replication_role = replica`);
    const { rows: tables } = await client.query<{ table: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS table
         FROM information_schema.columns
        WHERE column_name = 'workspace_id' AND table_schema = current_schema()
          AND table_name IN (SELECT table_name FROM information_schema.tables
                              WHERE table_type = 'BASE TABLE' AND table_schema = current_schema())`,
    );
    for (const { table } of tables) {
      await client.query(`DELETE FROM ${table} WHERE workspace_id <> $1`, [first.id]);
    }
    await client.query(`DELETE FROM workspaces WHERE id <> $1`, [first.id]);
    await client.query(
      `DELETE FROM users u WHERE NOT EXISTS (SELECT 1 FROM workspace_members m WHERE m.user_id = u.id)`,
    );
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  db.workspaces.splice(1);
}

/** A light workspace added in bulk for the tenant-count benchmark: its id and one item's id. */
export interface LightWorkspace {
  id: string;
  itemId: string;
}

/**
 * Adds `count` light workspaces (no members, `itemsEach` approval items each) in two statements.
 * Needs a superuser owner (Row-Level Security would refuse unsigned bulk writes otherwise).
 */
export async function addLightWorkspaces(
  db: BenchDatabase,
  from: number,
  count: number,
  itemsEach: number,
): Promise<LightWorkspace[]> {
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    // The items reference no user, so the user-reference trigger has nothing to check; skipping
    // triggers (superuser only) makes 100k rows take seconds instead of tens of seconds.
    await client.query(`SET LOCAL session_replication_role = replica`);
    const { rows: created } = await client.query<{ id: string }>(
      `INSERT INTO workspaces (name, slug)
         SELECT 'Light ' || n, 'light-' || n FROM generate_series($1::int, $2::int) AS n
       RETURNING id::text`,
      [from, from + count - 1],
    );
    const ids = created.map((r) => r.id);
    await client.query(
      `INSERT INTO approval_items (workspace_id, title, status, created_at, updated_at)
         SELECT w, 'Item ' || k, 'PENDING', now() - make_interval(secs => k), now()
           FROM unnest($1::uuid[]) AS w, generate_series(1, $2::int) AS k`,
      [ids, itemsEach],
    );
    const { rows } = await client.query<{ workspace_id: string; id: string }>(
      `SELECT DISTINCT ON (workspace_id) workspace_id::text, id::text
         FROM approval_items WHERE workspace_id = ANY($1::uuid[]) ORDER BY workspace_id, id`,
      [ids],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE workspaces, approval_items');
    return rows.map((r) => ({ id: r.workspace_id, itemId: r.id }));
  } finally {
    await client.end();
  }
}

/** What to seed. */
export interface SeedSettings {
  database: string;
  workspaces: number;
  itemsPerWorkspace: number;
  membersPerWorkspace: number;
  /** Items per workspace set aside for the update benchmark. */
  updateItemsPerWorkspace: number;
}

/**
 * The signer of the benchmark's tenant settings: TENANT_SETTING_SECRET (from the shell or `.env`),
 * or a random secret for this run, set by prepareBenchDatabase. The tenant clients and the demo app
 * read the same variable.
 */
export function benchSigner(): TenantSettingSigner {
  const secret = process.env.TENANT_SETTING_SECRET;
  if (!secret) throw new Error('TENANT_SETTING_SECRET is not set: call prepareBenchDatabase first');
  return new TenantSettingSigner(secret);
}

/** Stores the key of TENANT_SETTING_SECRET in the fresh database (as the owner). */
async function installSettingKey(ownerUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const outcome = await storeKey(client, benchSigner().key, 300);
    if (outcome === 'mismatch') throw new Error('the database holds another setting key');
    if (outcome === 'missing')
      throw new Error('the migrations did not install the setting key function');
  } finally {
    await client.end();
  }
}

function passwordOf(url: string | undefined): string | undefined {
  return url ? decodeURIComponent(new URL(url).password) || undefined : undefined;
}

/**
 * Workspaces, users, members and approval items in plain SQL, as the owner. A superuser owner is
 * not subject to Row-Level Security; any other owner is (the tables are FORCEd), so every write is
 * made under a signed setting that selects its workspace and user (a user row can only be written
 * as that user; tenant rows may only reference users the writer can see).
 */
async function seed(
  ownerUrl: string,
  settings: SeedSettings,
  from: number,
  count: number,
): Promise<SeededWorkspace[]> {
  const signer = benchSigner();
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  const select = (workspaceId: string, userId: string) =>
    client.query(`SELECT set_config('app.workspace_id', $1, true)`, [
      signer.sign(workspaceId, userId),
    ]);
  try {
    const workspaces: SeededWorkspace[] = [];
    for (let w = from; w < from + count; w++) {
      await client.query('BEGIN');
      const workspaceId = randomUUID();
      const userIds = Array.from({ length: settings.membersPerWorkspace }, () => randomUUID());
      await select(workspaceId, userIds[0]);
      await client.query(`INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)`, [
        workspaceId,
        `Bench ${w}`,
        `bench-${w}`,
      ]);
      for (const [n, userId] of userIds.entries()) {
        // As that user: a user row is written by its user, and a member's user must be visible.
        await select(workspaceId, userId);
        await client.query(`INSERT INTO users (id, email, name) VALUES ($1, $2, $3)`, [
          userId,
          `bench-${w}-${n + 1}@bench.invalid`,
          `Bench user ${n + 1}`,
        ]);
        await client.query(
          `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3::workspace_role)`,
          [workspaceId, userId, n === 0 ? 'OWNER' : 'MEMBER'],
        );
      }
      await select(workspaceId, userIds[0]);
      // Statuses 2/5 PENDING, 2/5 APPROVED, 1/5 REJECTED; created_at spread over the last 30 days.
      const { rows: items } = await client.query<{ id: string }>(
        `INSERT INTO approval_items
           (workspace_id, title, description, payload, status, confidence, created_by_id, created_at, updated_at)
           SELECT $1, 'Item ' || n, 'Seeded approval item number ' || n,
                  jsonb_build_object('action', 'review', 'n', n),
                  (ARRAY['PENDING', 'PENDING', 'APPROVED', 'APPROVED', 'REJECTED'])[1 + n % 5]::approval_status,
                  (n % 100) / 100.0, $2::uuid,
                  now() - make_interval(secs => n * 259.2), now() - make_interval(secs => n * 259.2)
             FROM generate_series(1, $3::int) AS n
         RETURNING id::text`,
        [workspaceId, userIds[0], settings.itemsPerWorkspace],
      );
      await client.query('COMMIT');
      const ids = items.map((i) => i.id);
      workspaces.push({
        id: workspaceId,
        userIds,
        updateIds: ids.slice(0, settings.updateItemsPerWorkspace),
        itemIds: ids.slice(settings.updateItemsPerWorkspace),
      });
    }
    await client.query('ANALYZE');
    return workspaces;
  } finally {
    await client.end();
  }
}

/**
 * Drops and recreates the benchmark database, applies the migrations and seeds it.
 *
 * @throws When DIRECT_URL is set but its server does not answer (no silent fallback then).
 */
export async function prepareBenchDatabase(
  settings: SeedSettings,
  log: (line: string) => void,
): Promise<BenchDatabase> {
  const directUrl = process.env.DIRECT_URL?.trim();
  let ownerUrl: string;
  let runtimeUrl: string;
  let adminUrl: string;
  let embedded = false;
  let stop: () => Promise<void> = () => Promise.resolve();

  if (directUrl || (await answers(DEFAULT_SERVER_URL))) {
    const server = directUrl ?? DEFAULT_SERVER_URL;
    if (directUrl && !(await answers(withDatabase(directUrl, 'postgres')))) {
      throw new Error(
        `DIRECT_URL (${new URL(directUrl).host}) does not answer; unset it to use the default server`,
      );
    }
    ownerUrl = withDatabase(server, settings.database);
    runtimeUrl = withDatabase(
      server,
      settings.database,
      'app_runtime',
      passwordOf(process.env.DATABASE_URL) ?? '',
    );
    adminUrl = withDatabase(
      server,
      settings.database,
      'app_admin',
      passwordOf(process.env.SYSTEM_DATABASE_URL) ?? '',
    );
    log(`database: ${settings.database} on ${new URL(server).host}`);
    await recreateDatabase(server, settings.database);
    await applyMigrations(ownerUrl);
  } else {
    log(
      `database: no server at ${new URL(DEFAULT_SERVER_URL).host}; using the embedded PostgreSQL`,
    );
    const prepared = await prepareDatabase(
      readEnvironment({ NODE_ENV: 'development' }, { secrets: false }),
      {
        database: settings.database,
        migrate: false,
      },
    );
    embedded = true;
    stop = () => prepared.stop();
    ownerUrl = prepared.directUrl;
    runtimeUrl = prepared.databaseUrl;
    adminUrl =
      prepared.systemDatabaseUrl ??
      withDatabase(ownerUrl, settings.database, 'app_admin', 'app_admin');
    await recreateDatabase(ownerUrl, settings.database);
    await applyMigrations(ownerUrl);
    await setEmbeddedRolePasswords(ownerUrl);
  }

  process.env.TENANT_SETTING_SECRET ||= randomBytes(48).toString('base64url');
  await installSettingKey(ownerUrl);

  const probe = new pg.Client({ connectionString: ownerUrl });
  await probe.connect();
  let ownerIsSuperuser: boolean;
  let serverVersion: string;
  try {
    const { rows } = await probe.query<{ superuser: boolean; version: string }>(
      `SELECT rolsuper AS superuser, current_setting('server_version') AS version
         FROM pg_roles WHERE rolname = current_user`,
    );
    ownerIsSuperuser = rows[0].superuser;
    serverVersion = rows[0].version;
  } finally {
    await probe.end();
  }

  const started = Date.now();
  const workspaces = await seed(ownerUrl, settings, 0, settings.workspaces);
  const items = settings.workspaces * settings.itemsPerWorkspace;
  log(
    `seeded ${settings.workspaces} workspaces, ${items} approval items in ${Date.now() - started} ms`,
  );
  return {
    database: settings.database,
    ownerUrl,
    runtimeUrl,
    adminUrl,
    ownerIsSuperuser,
    serverVersion,
    embedded,
    workspaces,
    items,
    stop,
  };
}
