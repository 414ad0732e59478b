import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { TenantSettingSigner } from 'nest-prisma-tenancy';
import { signedSetting, testSigner } from '../support/tenant-setting';
import { tenantTables } from './tenant-tables';

const RLS_VIOLATION = '42501';
const FOREIGN_KEY_VIOLATION = '23503';
/** The `keys_are_immutable` trigger: ids and the tenant column never change. */
const KEY_CHANGE_REFUSED = '23514';

interface Fixture {
  workspaceId: string;
  /** A user who is a member of the workspace. */
  userId: string;
  projectId: string;
  itemId: string;
  commentId: string;
}

/** Identity tables under RLS that the runtime role may read (verification_tokens it may not). */
const IDENTITY_TABLES = ['users', 'accounts', 'sessions'];

/**
 * Runs `work` as the owner in a transaction that has selected `workspaceId` and `userId` with a
 * signed setting (RLS is forced, so a non-superuser owner needs it too).
 */
async function asOwnerIn<T>(
  owner: pg.Client,
  workspaceId: string,
  work: () => Promise<T>,
  userId?: string,
): Promise<T> {
  await owner.query('BEGIN');
  try {
    await owner.query(`SELECT set_config('app.workspace_id', $1, true)`, [
      signedSetting(workspaceId, userId),
    ]);
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
    userId: randomUUID(),
    projectId: randomUUID(),
    itemId: randomUUID(),
    commentId: randomUUID(),
  };
  const suffix = fixture.workspaceId.slice(0, 8);
  await asOwnerIn(
    owner,
    fixture.workspaceId,
    async () => {
      await owner.query('INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)', [
        fixture.workspaceId,
        `Workspace ${label}`,
        `rls-${label.toLowerCase()}-${suffix}`,
      ]);
      await owner.query('INSERT INTO users (id, email) VALUES ($1, $2)', [
        fixture.userId,
        `rls-${label.toLowerCase()}-${suffix}@example.test`,
      ]);
      await owner.query(
        `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'OWNER')`,
        [fixture.workspaceId, fixture.userId],
      );
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
    },
    fixture.userId,
  );
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
      members: await read('SELECT * FROM workspace_members WHERE workspace_id = $1 ORDER BY id'),
      users: await read(
        'SELECT * FROM users WHERE id IN (SELECT user_id FROM workspace_members WHERE workspace_id = $1) ORDER BY id',
      ),
    };
  });
}

async function deleteWorkspace(owner: pg.Client, fixture: Fixture): Promise<void> {
  const { workspaceId, userId } = fixture;
  await asOwnerIn(
    owner,
    workspaceId,
    async () => {
      // Children first: approval_items -> projects is ON DELETE RESTRICT, and a member's user
      // cannot be deleted before the membership (workspace_members.user_id is RESTRICT).
      for (const table of [
        'approval_comments',
        'approval_items',
        'projects',
        'workspace_members',
      ]) {
        await owner.query(`DELETE FROM ${table} WHERE workspace_id = $1`, [workspaceId]);
      }
      await owner.query('DELETE FROM workspaces WHERE id = $1', [workspaceId]);
      await owner.query('DELETE FROM users WHERE id = $1', [userId]);
    },
    userId,
  );
}

/**
 * Row-Level Security as the application's runtime role sees it: the database alone must keep
 * workspaces apart, whatever SQL the application sends. The tenant setting must hold a value
 * signed by the library (TenantSettingSigner); anything else reads as "no tenant".
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

  /** Rows visible in every tenant table and readable identity table. */
  async function countAll(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of [...tenantTables(), ...IDENTITY_TABLES]) {
      const { rows } = await runtime.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table)}`,
      );
      counts[table] = rows[0].n;
    }
    return counts;
  }

  const zeroEverywhere = () =>
    Object.fromEntries([...tenantTables(), ...IDENTITY_TABLES].map((table) => [table, 0]));

  /** What workspace A's signed setting shows: its fixture rows and its member. */
  const aEverywhere = () => ({
    ...zeroEverywhere(),
    workspaces: 1,
    workspace_members: 1,
    projects: 1,
    approval_items: 1,
    approval_comments: 1,
    users: 1,
  });

  async function verifiedClaims(): Promise<{ workspace: string | null; user: string | null }> {
    const { rows } = await runtime.query<{ workspace: string | null; user: string | null }>(
      'SELECT public.current_workspace_id()::text AS workspace, public.current_app_user_id()::text AS user',
    );
    return rows[0];
  }

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
          if (fixture) await deleteWorkspace(owner, fixture);
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

  it('sees no tenant or identity rows and can insert none without a workspace setting', async () => {
    const { rows } = await runtime.query(`SELECT current_setting('app.workspace_id', true) AS v`);
    expect(rows).toEqual([{ v: null }]);
    expect(await verifiedClaims()).toEqual({ workspace: null, user: null });
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
      // Not a policy: the runtime role has no privilege on verification tokens at all.
      expect(await failureCode('SELECT count(*) FROM verification_tokens', [])).toBe(RLS_VIOLATION);
    } finally {
      await runtime.query('ROLLBACK');
    }
  });

  describe('with workspace A (and its member) selected by a signed setting', () => {
    beforeEach(async () => {
      await runtime.query('BEGIN');
      await runtime.query(`SELECT set_config('app.workspace_id', $1, true)`, [
        signedSetting(a.workspaceId, a.userId),
      ]);
    });

    afterEach(async () => {
      await runtime.query('ROLLBACK');
    });

    it('verifies the setting: the current workspace is A and the current user is its member', async () => {
      expect(await verifiedClaims()).toEqual({ workspace: a.workspaceId, user: a.userId });
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
        ['users', b.userId],
      ]) {
        const { rows } = await runtime.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
        expect({ table, rows }).toEqual({ table, rows: [] });
      }
      const byTenant = await runtime.query(
        'SELECT id FROM approval_items WHERE workspace_id = $1',
        [b.workspaceId],
      );
      expect(byTenant.rows).toEqual([]);
      const users = await runtime.query('SELECT id FROM users');
      expect(users.rows).toEqual([{ id: a.userId }]);
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
      const renameUser = await runtime.query(`UPDATE users SET name = 'hijacked' WHERE id = $1`, [
        b.userId,
      ]);
      expect(
        [update, updateAll, remove, removeWorkspace, renameUser].map((r) => r.rowCount),
      ).toEqual([0, 0, 0, 0, 0]);
    });

    it('cannot delete a user, not even its own (0 rows affected)', async () => {
      const own = await runtime.query('DELETE FROM users WHERE id = $1', [a.userId]);
      expect(own.rowCount).toBe(0);
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

    it('cannot move its own row to B: the immutable key refuses it, and RLS would too', async () => {
      expect(
        await failureCode('UPDATE approval_comments SET workspace_id = $1 WHERE id = $2', [
          b.workspaceId,
          a.commentId,
        ]),
      ).toBe(KEY_CHANGE_REFUSED);

      // Layer 2's WITH CHECK on its own: the same UPDATE as app_runtime, in a transaction of the
      // owner that has switched the key trigger off (rolled back, so nobody else sees that).
      await owner.query('BEGIN');
      try {
        await owner.query('ALTER TABLE approval_comments DISABLE TRIGGER keys_are_immutable');
        await owner.query('SET LOCAL ROLE app_runtime');
        await owner.query(`SELECT set_config('app.workspace_id', $1, true)`, [
          signedSetting(a.workspaceId, a.userId),
        ]);
        const code = await owner
          .query('UPDATE approval_comments SET workspace_id = $1 WHERE id = $2', [
            b.workspaceId,
            a.commentId,
          ])
          .then(
            () => 'succeeded',
            (error: { code?: string }) => error.code,
          );
        expect(code).toBe(RLS_VIOLATION);
      } finally {
        await owner.query('ROLLBACK');
      }
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
    await runtime.query(`SELECT set_config('app.workspace_id', $1, true)`, [
      signedSetting(a.workspaceId),
    ]);
    const inside = await runtime.query('SELECT id FROM approval_items');
    await runtime.query('COMMIT');

    const setting = await runtime.query(`SELECT current_setting('app.workspace_id', true) AS v`);
    const after = await runtime.query('SELECT id FROM approval_items');
    expect(inside.rows).toEqual([{ id: a.itemId }]);
    expect(setting.rows).toEqual([{ v: '' }]);
    expect(await verifiedClaims()).toEqual({ workspace: null, user: null });
    expect(after.rows).toEqual([]);
    expect(await countAll()).toEqual(zeroEverywhere());
  });

  describe('a value the library did not sign reads as no workspace: no rows, no writes', () => {
    /** Counts and verified claims with `setting` in a transaction that is rolled back. */
    async function withSetting(setting: string): Promise<{
      claims: { workspace: string | null; user: string | null };
      counts: Record<string, number>;
      insert: string;
    }> {
      await runtime.query('BEGIN');
      try {
        await runtime.query(`SELECT set_config('app.workspace_id', $1, true)`, [setting]);
        const claims = await verifiedClaims();
        const counts = await countAll();
        const insert = await failureCode(
          'INSERT INTO projects (workspace_id, name, slug) VALUES ($1, $2, $3)',
          [a.workspaceId, 'Forged', `forged-${randomUUID()}`],
        ).catch((error: Error) => error.message);
        return { claims, counts, insert };
      } finally {
        await runtime.query('ROLLBACK');
      }
    }

    const signedForA = () => signedSetting(a.workspaceId, a.userId);

    it("(control) A's genuine signed value shows A's rows", async () => {
      const { claims, counts } = await withSetting(signedForA());
      expect(claims).toEqual({ workspace: a.workspaceId, user: a.userId });
      expect(counts).toEqual(aEverywhere());
    });

    it.each<[string, () => string]>([
      ['a bare UUID of an existing workspace', () => a.workspaceId],
      [
        'a signed value with one hex digit of the MAC changed',
        () => {
          const value = signedForA();
          const last = value.slice(-1);
          return `${value.slice(0, -1)}${last === '0' ? '1' : '0'}`;
        },
      ],
      [
        "A's signed value with the tenant part replaced by B",
        () => signedForA().replace(a.workspaceId, b.workspaceId),
      ],
      [
        'a value issued more than 300 s ago',
        () => testSigner().sign(a.workspaceId, undefined, Date.now() - 10 * 60_000),
      ],
      [
        'a value issued 10 minutes in the future',
        () => testSigner().sign(a.workspaceId, undefined, Date.now() + 10 * 60_000),
      ],
      [
        'a value signed with another secret',
        () =>
          new TenantSettingSigner(randomBytes(48).toString('base64url')).sign(
            a.workspaceId,
            a.userId,
          ),
      ],
      ['a malformed value', () => 'not-a-uuid'],
    ])('%s', async (_name, forge) => {
      const setting = forge();
      expect(setting).not.toBe(signedForA());

      const { claims, counts, insert } = await withSetting(setting);

      expect(claims).toEqual({ workspace: null, user: null });
      expect(counts).toEqual(zeroEverywhere());
      expect(insert).toBe(RLS_VIOLATION);
    });
  });

  it("leaves B's data unchanged", async () => {
    expect(await snapshot(owner, b.workspaceId)).toEqual(bBefore);
  });
});
