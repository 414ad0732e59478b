import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { tenantTables } from './tenant-tables';

const RLS_VIOLATION = '42501';
const FOREIGN_KEY_VIOLATION = '23503';

interface Fixture {
  workspaceId: string;
  projectId: string;
  itemId: string;
  commentId: string;
}

/** Runs `work` as the owner in a transaction that has selected `workspaceId` (RLS is forced). */
async function asOwnerIn<T>(
  owner: pg.Client,
  workspaceId: string,
  work: () => Promise<T>,
): Promise<T> {
  await owner.query('BEGIN');
  try {
    await owner.query(`SELECT set_config('app.workspace_id', $1, true)`, [workspaceId]);
    const result = await work();
    await owner.query('COMMIT');
    return result;
  } catch (error) {
    await owner.query('ROLLBACK');
    throw error;
  }
}

async function createWorkspace(owner: pg.Client, label: string): Promise<Fixture> {
  const fixture: Fixture = {
    workspaceId: randomUUID(),
    projectId: randomUUID(),
    itemId: randomUUID(),
    commentId: randomUUID(),
  };
  const suffix = fixture.workspaceId.slice(0, 8);
  await asOwnerIn(owner, fixture.workspaceId, async () => {
    await owner.query('INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)', [
      fixture.workspaceId,
      `Workspace ${label}`,
      `rls-${label.toLowerCase()}-${suffix}`,
    ]);
    await owner.query(
      'INSERT INTO projects (id, workspace_id, name, slug) VALUES ($1, $2, $3, $4)',
      [fixture.projectId, fixture.workspaceId, `Project ${label}`, `project-${suffix}`],
    );
    await owner.query(
      `INSERT INTO approval_items (id, workspace_id, project_id, title) VALUES ($1, $2, $3, $4)`,
      [fixture.itemId, fixture.workspaceId, fixture.projectId, `Item ${label}`],
    );
    await owner.query(
      `INSERT INTO approval_comments (id, workspace_id, approval_item_id, body) VALUES ($1, $2, $3, $4)`,
      [fixture.commentId, fixture.workspaceId, fixture.itemId, `Comment ${label}`],
    );
  });
  return fixture;
}

/** Everything of a workspace, read as the owner: to prove it did not change. */
async function snapshot(owner: pg.Client, workspaceId: string): Promise<unknown> {
  return asOwnerIn(owner, workspaceId, async () => {
    const read = async (sql: string): Promise<unknown[]> => {
      const { rows } = await owner.query<Record<string, unknown>>(sql, [workspaceId]);
      return rows;
    };
    return {
      workspaces: await read('SELECT * FROM workspaces WHERE id = $1'),
      projects: await read('SELECT * FROM projects WHERE workspace_id = $1 ORDER BY id'),
      items: await read('SELECT * FROM approval_items WHERE workspace_id = $1 ORDER BY id'),
      comments: await read('SELECT * FROM approval_comments WHERE workspace_id = $1 ORDER BY id'),
    };
  });
}

async function deleteWorkspace(owner: pg.Client, workspaceId: string): Promise<void> {
  await asOwnerIn(owner, workspaceId, async () => {
    // Children first: approval_items -> projects is ON DELETE RESTRICT.
    for (const table of ['approval_comments', 'approval_items', 'projects']) {
      await owner.query(`DELETE FROM ${table} WHERE workspace_id = $1`, [workspaceId]);
    }
    await owner.query('DELETE FROM workspaces WHERE id = $1', [workspaceId]);
  });
}

/**
 * Row-Level Security as the application's runtime role sees it: the database alone must keep
 * workspaces apart, whatever SQL the application sends.
 */
describe('Row-Level Security for app_runtime', () => {
  let owner: pg.Client;
  let runtime: pg.Client;
  let a: Fixture;
  let b: Fixture;
  let bBefore: unknown;

  /** Runs a statement inside a savepoint and returns the SQLSTATE it fails with. */
  async function failureCode(sql: string, params: unknown[]): Promise<string> {
    await runtime.query('SAVEPOINT attempt');
    try {
      await runtime.query(sql, params);
    } catch (error) {
      await runtime.query('ROLLBACK TO SAVEPOINT attempt');
      return (error as { code: string }).code;
    }
    await runtime.query('RELEASE SAVEPOINT attempt');
    throw new Error(`Expected to fail, but succeeded: ${sql}`);
  }

  async function countAll(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of tenantTables()) {
      const { rows } = await runtime.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table)}`,
      );
      counts[table] = rows[0].n;
    }
    return counts;
  }

  const zeroEverywhere = () => Object.fromEntries(tenantTables().map((table) => [table, 0]));

  beforeAll(async () => {
    owner = new pg.Client({ connectionString: process.env.DIRECT_URL });
    runtime = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await owner.connect();
    await runtime.connect();
    a = await createWorkspace(owner, 'A');
    b = await createWorkspace(owner, 'B');
    bBefore = await snapshot(owner, b.workspaceId);
  });

  afterAll(async () => {
    try {
      if (owner) {
        for (const fixture of [a, b]) {
          if (fixture) await deleteWorkspace(owner, fixture.workspaceId);
        }
      }
    } finally {
      await runtime?.end();
      await owner?.end();
    }
  });

  it('connects as app_runtime, which is not the owner', async () => {
    const { rows } = await runtime.query('SELECT current_user AS user');
    expect(rows).toEqual([{ user: 'app_runtime' }]);
  });

  it('sees no tenant rows and can insert none without a workspace setting', async () => {
    const { rows } = await runtime.query(`SELECT current_setting('app.workspace_id', true) AS v`);
    expect(rows).toEqual([{ v: null }]);
    expect(await countAll()).toEqual(zeroEverywhere());

    await runtime.query('BEGIN');
    try {
      expect(
        await failureCode('INSERT INTO projects (workspace_id, name, slug) VALUES ($1, $2, $3)', [
          a.workspaceId,
          'Sneaky',
          `sneaky-${randomUUID()}`,
        ]),
      ).toBe(RLS_VIOLATION);
    } finally {
      await runtime.query('ROLLBACK');
    }
  });

  describe('with workspace A selected', () => {
    beforeEach(async () => {
      await runtime.query('BEGIN');
      await runtime.query(`SELECT set_config('app.workspace_id', $1, true)`, [a.workspaceId]);
    });

    afterEach(async () => {
      await runtime.query('ROLLBACK');
    });

    it("reads A's rows and none of B's", async () => {
      const items = await runtime.query('SELECT id, workspace_id FROM approval_items');
      expect(items.rows).toEqual([{ id: a.itemId, workspace_id: a.workspaceId }]);
      const workspaces = await runtime.query('SELECT id FROM workspaces');
      expect(workspaces.rows).toEqual([{ id: a.workspaceId }]);

      for (const [table, id] of [
        ['workspaces', b.workspaceId],
        ['projects', b.projectId],
        ['approval_items', b.itemId],
        ['approval_comments', b.commentId],
      ]) {
        const { rows } = await runtime.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
        expect({ table, rows }).toEqual({ table, rows: [] });
      }
      const byTenant = await runtime.query(
        'SELECT id FROM approval_items WHERE workspace_id = $1',
        [b.workspaceId],
      );
      expect(byTenant.rows).toEqual([]);
    });

    it("cannot update or delete B's rows (0 rows affected)", async () => {
      const update = await runtime.query(
        `UPDATE approval_items SET title = 'hijacked' WHERE id = $1`,
        [b.itemId],
      );
      const updateAll = await runtime.query(
        `UPDATE approval_comments SET body = 'hijacked' WHERE workspace_id = $1`,
        [b.workspaceId],
      );
      const remove = await runtime.query('DELETE FROM approval_comments WHERE id = $1', [
        b.commentId,
      ]);
      const removeWorkspace = await runtime.query('DELETE FROM workspaces WHERE id = $1', [
        b.workspaceId,
      ]);
      expect([update, updateAll, remove, removeWorkspace].map((r) => r.rowCount)).toEqual([
        0, 0, 0, 0,
      ]);
    });

    it("cannot insert a row with B's workspace_id", async () => {
      expect(
        await failureCode('INSERT INTO projects (workspace_id, name, slug) VALUES ($1, $2, $3)', [
          b.workspaceId,
          'Planted',
          `planted-${randomUUID()}`,
        ]),
      ).toBe(RLS_VIOLATION);
    });

    it('cannot move its own row to B', async () => {
      expect(
        await failureCode('UPDATE approval_comments SET workspace_id = $1 WHERE id = $2', [
          b.workspaceId,
          a.commentId,
        ]),
      ).toBe(RLS_VIOLATION);
    });

    it("cannot attach a comment to B's approval item, from A or inside B", async () => {
      // The composite foreign key (workspace_id, approval_item_id) finds no such item in A.
      expect(
        await failureCode(
          'INSERT INTO approval_comments (workspace_id, approval_item_id, body) VALUES ($1, $2, $3)',
          [a.workspaceId, b.itemId, 'Probe'],
        ),
      ).toBe(FOREIGN_KEY_VIOLATION);
      expect(
        await failureCode(
          'INSERT INTO approval_comments (workspace_id, approval_item_id, body) VALUES ($1, $2, $3)',
          [b.workspaceId, b.itemId, 'Probe'],
        ),
      ).toBe(RLS_VIOLATION);
    });

    it('INSERT ... RETURNING works for its own rows', async () => {
      const { rows } = await runtime.query(
        `INSERT INTO approval_comments (workspace_id, approval_item_id, body)
         VALUES ($1, $2, $3) RETURNING workspace_id, approval_item_id, body`,
        [a.workspaceId, a.itemId, 'Looks good'],
      );
      expect(rows).toEqual([
        { workspace_id: a.workspaceId, approval_item_id: a.itemId, body: 'Looks good' },
      ]);
    });
  });

  it('forgets the workspace at COMMIT: the same connection then reads nothing, without error', async () => {
    await runtime.query('BEGIN');
    await runtime.query(`SELECT set_config('app.workspace_id', $1, true)`, [a.workspaceId]);
    const inside = await runtime.query('SELECT id FROM approval_items');
    await runtime.query('COMMIT');

    const setting = await runtime.query(`SELECT current_setting('app.workspace_id', true) AS v`);
    const after = await runtime.query('SELECT id FROM approval_items');
    expect(inside.rows).toEqual([{ id: a.itemId }]);
    expect(setting.rows).toEqual([{ v: '' }]);
    expect(after.rows).toEqual([]);
    expect(await countAll()).toEqual(zeroEverywhere());
  });

  it('treats a malformed workspace setting as no workspace, without error', async () => {
    await runtime.query('BEGIN');
    try {
      await runtime.query(`SELECT set_config('app.workspace_id', 'not-a-uuid', true)`);
      expect(await countAll()).toEqual(zeroEverywhere());
    } finally {
      await runtime.query('ROLLBACK');
    }
  });

  it("leaves B's data unchanged", async () => {
    expect(await snapshot(owner, b.workspaceId)).toEqual(bBefore);
  });
});
