import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import type { ModelFixture, TenantIsolationKit } from './isolation-kit';
import type { SqlRow } from './tenant-schema.catalog';

/** Which isolation layer a check exercises. */
export type IsolationLayer =
  /** The tenant client as the application uses it (layer 1, the argument scoper, over layer 2). */
  | 'client'
  /** An unextended PrismaClient over `createTenantAdapter`: the tenant driver and RLS, no scoper. */
  | 'driver'
  /** Raw SQL as the runtime role with a signed tenant setting: Row-Level Security alone. */
  | 'database'
  /** The real state afterwards, read through the admin connection (adminUrl). */
  | 'data';

/**
 * One isolation check on one model. `run` resolves when the check holds and throws (any error,
 * usually with a message saying what happened instead) when it does not. It works on the
 * fixture's two rows: it acts as tenant A and targets B's row.
 */
export interface IsolationCheck {
  layer: IsolationLayer;
  name: string;
  run(kit: TenantIsolationKit, fixture: ModelFixture): Promise<void>;
}

/** A row as a Prisma client returns it (the kit addresses every model the same, untyped way). */
export type Row = Record<string, unknown>;

function fail(detail: string, cause?: unknown): never {
  throw new Error(detail, cause === undefined ? undefined : { cause });
}

/** `PrismaClientKnownRequestError P2025: An operation failed because ...` (first line). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const lines = error.message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${lines[lines.length - 1] ?? ''}`;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Awaits `work` and checks that it was rejected with an error matching `expected`. */
async function expectRejection(
  work: () => Promise<unknown>,
  expected: string,
  matches: (error: unknown) => boolean,
): Promise<void> {
  let result: unknown;
  try {
    result = await work();
  } catch (error) {
    if (matches(error)) return;
    fail(`expected ${expected}, got ${describeError(error)}`, error);
  }
  fail(`expected ${expected}, but it succeeded and returned ${show(result)}`);
}

const named = (name: string) => (error: unknown) => error instanceof Error && error.name === name;

/** A `PrismaClientKnownRequestError` with `code`. */
const prismaCode = (code: string) => (error: unknown) =>
  named('PrismaClientKnownRequestError')(error) && (error as { code?: unknown }).code === code;

/** PostgreSQL's `42501` (insufficient privilege: a row-level security policy), raw or via Prisma. */
export function isRowLevelSecurityViolation(error: unknown): boolean {
  const codes = [error, (error as { cause?: unknown } | null)?.cause].map(
    (e) => (e as { code?: unknown } | null)?.code,
  );
  return (
    codes.includes('42501') || (error instanceof Error && /row-level security/i.test(error.message))
  );
}

/** True when `error` or its `cause` is an Error with SQLSTATE `code` whose message matches. */
function raisedWith(error: unknown, code: string, message: RegExp): boolean {
  return [error, (error as { cause?: unknown } | null)?.cause].some(
    (e) => e instanceof Error && (e as { code?: unknown }).code === code && message.test(e.message),
  );
}

/**
 * PostgreSQL's `23514` from the `keys_are_immutable` trigger (`protect_keys()` in the migrations):
 * the tenant column never changes, whoever writes. It fires before Row-Level Security's WITH CHECK,
 * so on a table that has it, a move is refused by the trigger.
 */
export function isKeyChangeRefusal(error: unknown): boolean {
  return raisedWith(error, '23514', /key column .* cannot be changed/);
}

/**
 * The `23503` of the library's user-reference trigger (`check_user_references()` in the generated
 * migration): the row names a user the writer cannot see. On Citus a tenant sees only its own user
 * (the policy's membership branch is a subquery Citus cannot run on a shard), so a copied row that
 * names a member is refused by this BEFORE trigger ahead of the policies' WITH CHECK.
 */
export function isInvisibleUserRefusal(error: unknown): boolean {
  // The trigger's message names a column, where PostgreSQL's own names a constraint:
  // `violates foreign key constraint on "user_id"`. Through Prisma (P2003) the database's code and
  // message are in meta.driverAdapterError.cause.
  const message = /violates foreign key constraint on "[^"]+"/;
  const adapterCause = (error as { meta?: { driverAdapterError?: { cause?: unknown } } } | null)
    ?.meta?.driverAdapterError?.cause as
    | { originalCode?: unknown; originalMessage?: unknown }
    | undefined;
  return (
    raisedWith(error, '23503', message) ||
    (adapterCause?.originalCode === '23503' &&
      typeof adapterCause.originalMessage === 'string' &&
      message.test(adapterCause.originalMessage))
  );
}

/**
 * Citus' `0A000` for an UPDATE of a distributed table's distribution column (the tenant column):
 * the row cannot move to another tenant's shard, whoever writes.
 */
export function isPartitionValueRefusal(error: unknown): boolean {
  return raisedWith(error, '0A000', /modifying the partition value of rows is not allowed/);
}

const keyOf = (fixture: ModelFixture, row: Row): string =>
  show(fixture.model.key.map((k) => row[k.field]));

const ident = (name: string): string => pg.escapeIdentifier(name);

/** `WHERE pk = $n ...` for a row, as SQL. */
function sqlKey(
  fixture: ModelFixture,
  row: SqlRow,
  offset = 0,
): { where: string; params: unknown[] } {
  const { key } = fixture.model;
  return {
    where: key.map((k, i) => `${ident(k.column)} = $${i + 1 + offset}`).join(' AND '),
    params: key.map((k) => row[k.column]),
  };
}

const tableOf = (fixture: ModelFixture): string => ident(fixture.model.table.name);

const CLIENT_CHECKS: IsolationCheck[] = [
  {
    layer: 'client',
    name: "findMany returns A's row and none of B's",
    async run(kit, fx) {
      const rows = await kit.inTenant(fx.a.tenantId, () => kit.tenantDelegate(fx).findMany());
      const foreign = rows.filter((r) => r[fx.model.tenantField] !== fx.a.tenantId);
      if (foreign.length > 0)
        fail(`returned ${foreign.length} row(s) of other tenants: ${show(foreign)}`);
      const keys = rows.map((r) => keyOf(fx, r));
      if (keys.includes(keyOf(fx, fx.b.row))) fail(`returned B's row ${keyOf(fx, fx.b.row)}`);
      if (!keys.includes(keyOf(fx, fx.a.row)))
        fail(`did not return A's own row ${keyOf(fx, fx.a.row)}`);
    },
  },
  {
    layer: 'client',
    name: "findMany filtered on B's key returns nothing",
    async run(kit, fx) {
      const rows = await kit.inTenant(fx.a.tenantId, () =>
        kit.tenantDelegate(fx).findMany({ where: fx.b.where }),
      );
      if (rows.length > 0) fail(`returned ${show(rows)}`);
    },
  },
  {
    layer: 'client',
    name: "findFirst by B's key returns null",
    async run(kit, fx) {
      const [own, foreign] = await kit.inTenant(fx.a.tenantId, async () => [
        await kit.tenantDelegate(fx).findFirst({ where: fx.a.where }),
        await kit.tenantDelegate(fx).findFirst({ where: fx.b.where }),
      ]);
      if (foreign !== null) fail(`returned B's row ${show(foreign)}`);
      if (own === null) fail(`did not find A's own row ${show(fx.a.where)}`);
    },
  },
  {
    layer: 'client',
    name: "count does not count B's row",
    async run(kit, fx) {
      const [both, all] = await kit.inTenant(fx.a.tenantId, async () => [
        await kit.tenantDelegate(fx).count({ where: { OR: [fx.a.where, fx.b.where] } }),
        await kit.tenantDelegate(fx).count(),
      ]);
      if (both !== 1) fail(`counted ${both} of A's and B's rows, expected 1 (A's)`);
      const expected = await kit
        .adminDelegate(fx)
        .count({ where: { [fx.model.tenantField]: fx.a.tenantId } });
      if (all !== expected) fail(`count() is ${all}, but A has ${expected} row(s)`);
    },
  },
  {
    layer: 'client',
    name: "findUnique by B's key returns null",
    async run(kit, fx) {
      const [own, foreign] = await kit.inTenant(fx.a.tenantId, async () => [
        await kit.tenantDelegate(fx).findUnique({ where: fx.a.whereUnique }),
        await kit.tenantDelegate(fx).findUnique({ where: fx.b.whereUnique }),
      ]);
      if (foreign !== null) fail(`returned B's row ${show(foreign)}`);
      if (own === null) fail(`did not find A's own row ${show(fx.a.whereUnique)}`);
    },
  },
  {
    layer: 'client',
    name: "update by B's key fails with P2025 (not found)",
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.inTenant(fx.a.tenantId, () =>
            kit
              .tenantDelegate(fx)
              .update({ where: fx.b.whereUnique, data: kit.harmlessUpdate(fx.model) }),
          ),
        'PrismaClientKnownRequestError P2025',
        prismaCode('P2025'),
      ),
  },
  {
    layer: 'client',
    name: "delete by B's key fails with P2025 (not found)",
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.inTenant(fx.a.tenantId, () =>
            kit.tenantDelegate(fx).delete({ where: fx.b.whereUnique }),
          ),
        'PrismaClientKnownRequestError P2025',
        prismaCode('P2025'),
      ),
  },
  {
    layer: 'client',
    name: "updateMany where B's key updates 0 rows",
    async run(kit, fx) {
      const result = await kit.inTenant(fx.a.tenantId, () =>
        kit
          .tenantDelegate(fx)
          .updateMany({ where: fx.b.where, data: kit.harmlessUpdate(fx.model) }),
      );
      if (result.count !== 0) fail(`updated ${result.count} row(s)`);
    },
  },
  {
    layer: 'client',
    name: "deleteMany where B's key deletes 0 rows",
    async run(kit, fx) {
      const result = await kit.inTenant(fx.a.tenantId, () =>
        kit.tenantDelegate(fx).deleteMany({ where: fx.b.where }),
      );
      if (result.count !== 0) fail(`deleted ${result.count} row(s)`);
    },
  },
  {
    layer: 'client',
    name: 'create naming tenant B fails with CrossTenantWriteError',
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.inTenant(fx.a.tenantId, () =>
            kit.tenantDelegate(fx).create({ data: kit.prismaCopyOf(fx.model, fx.b.sql) }),
          ),
        'CrossTenantWriteError',
        named('CrossTenantWriteError'),
      ),
  },
  {
    layer: 'client',
    name: "update moving A's row to B fails with CrossTenantWriteError",
    async run(kit, fx) {
      await expectRejection(
        () =>
          kit.inTenant(fx.a.tenantId, () =>
            kit.tenantDelegate(fx).update({
              where: fx.a.whereUnique,
              data: { [fx.model.tenantField]: fx.b.tenantId },
            }),
          ),
        'CrossTenantWriteError',
        named('CrossTenantWriteError'),
      );
    },
  },
  {
    layer: 'client',
    name: 'findMany outside any tenant fails with MissingTenantContextError',
    run: (kit, fx) =>
      expectRejection(
        () => kit.outsideTenant(() => kit.tenantDelegate(fx).findMany()),
        'MissingTenantContextError',
        named('MissingTenantContextError'),
      ),
  },
];

const DRIVER_CHECKS: IsolationCheck[] = [
  {
    layer: 'driver',
    name: "in A, findMany of A's and B's keys returns only A's row",
    async run(kit, fx) {
      const rows = await kit.inTenant(fx.a.tenantId, () =>
        kit.driverDelegate(fx).findMany({ where: { OR: [fx.a.where, fx.b.where] } }),
      );
      const keys = rows.map((r) => keyOf(fx, r));
      if (!isDeepStrictEqual(keys, [keyOf(fx, fx.a.row)])) {
        fail(`returned ${show(keys)}, expected only A's row ${keyOf(fx, fx.a.row)}`);
      }
    },
  },
  {
    layer: 'driver',
    name: "in A, findUnique by B's key returns null",
    async run(kit, fx) {
      const row = await kit.inTenant(fx.a.tenantId, () =>
        kit.driverDelegate(fx).findUnique({ where: fx.b.whereUnique }),
      );
      if (row !== null) fail(`returned B's row ${show(row)}`);
    },
  },
  {
    layer: 'driver',
    name: "in A, updateMany and deleteMany of B's row affect 0 rows",
    async run(kit, fx) {
      const [updated, deleted] = await kit.inTenant(fx.a.tenantId, async () => [
        await kit
          .driverDelegate(fx)
          .updateMany({ where: fx.b.where, data: kit.harmlessUpdate(fx.model) }),
        await kit.driverDelegate(fx).deleteMany({ where: fx.b.where }),
      ]);
      if (updated.count !== 0 || deleted.count !== 0) {
        fail(`updated ${updated.count} and deleted ${deleted.count} row(s)`);
      }
    },
  },
  {
    layer: 'driver',
    name: 'in A, create in B is refused by Row-Level Security (42501)',
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.inTenant(fx.a.tenantId, () =>
            kit.driverDelegate(fx).create({
              data: kit.prismaCopyOf(fx.model, kit.crossTenantRow(fx.model, fx.b.sql, fx.a.sql)),
            }),
          ),
        'a row-level security violation (42501)',
        (error) =>
          isRowLevelSecurityViolation(error) || (kit.onCitus && isInvisibleUserRefusal(error)),
      ),
  },
  {
    layer: 'driver',
    name: 'outside any tenant, the model reads empty',
    async run(kit, fx) {
      const count = await kit.outsideTenant(() => kit.driverDelegate(fx).count());
      if (count !== 0) fail(`counted ${count} row(s) with no tenant in context`);
    },
  },
];

const DATABASE_CHECKS: IsolationCheck[] = [
  {
    layer: 'database',
    name: "SELECT of B's row returns nothing",
    async run(kit, fx) {
      await kit.runtimeSql(fx.a.tenantId, async (sql) => {
        const b = sqlKey(fx, fx.b.sql);
        const byKey = await sql.query(`SELECT * FROM ${tableOf(fx)} WHERE ${b.where}`, b.params);
        if (byKey.rows.length > 0) fail(`returned B's row: ${show(byKey.rows)}`);
        const tenantColumn = ident(fx.model.table.tenantColumn ?? '');
        const byTenant = await sql.query(
          `SELECT * FROM ${tableOf(fx)} WHERE ${tenantColumn} = $1`,
          [fx.b.tenantId],
        );
        if (byTenant.rows.length > 0)
          fail(`returned ${byTenant.rows.length} row(s) of B by its tenant id`);
        const a = sqlKey(fx, fx.a.sql);
        const own = await sql.query(`SELECT * FROM ${tableOf(fx)} WHERE ${a.where}`, a.params);
        if (own.rows.length !== 1) fail(`did not return A's own row (got ${own.rows.length} rows)`);
      });
    },
  },
  {
    layer: 'database',
    name: "UPDATE of B's row affects 0 rows",
    async run(kit, fx) {
      await kit.runtimeSql(fx.a.tenantId, async (sql) => {
        const b = sqlKey(fx, fx.b.sql);
        const column = ident(fx.model.table.tenantColumn ?? '');
        const result = await sql.query(
          `UPDATE ${tableOf(fx)} SET ${column} = ${column} WHERE ${b.where}`,
          b.params,
        );
        if (result.rowCount !== 0) fail(`updated ${result.rowCount} row(s)`);
      });
    },
  },
  {
    layer: 'database',
    name: "DELETE of B's row affects 0 rows",
    async run(kit, fx) {
      await kit.runtimeSql(fx.a.tenantId, async (sql) => {
        const b = sqlKey(fx, fx.b.sql);
        const result = await sql.query(`DELETE FROM ${tableOf(fx)} WHERE ${b.where}`, b.params);
        if (result.rowCount !== 0) fail(`deleted ${result.rowCount} row(s)`);
      });
    },
  },
  {
    layer: 'database',
    name: "INSERT with B's tenant id fails with 42501",
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.runtimeSql(fx.a.tenantId, (sql) =>
            kit.insertCopy(sql, fx.model, kit.crossTenantRow(fx.model, fx.b.sql, fx.a.sql)),
          ),
        'SQLSTATE 42501 (row-level security)',
        (error) =>
          isRowLevelSecurityViolation(error) || (kit.onCitus && isInvisibleUserRefusal(error)),
      ),
  },
  {
    layer: 'database',
    name: "moving A's row to B fails with 42501 (or 23514 from an immutable key, 0A000 on Citus)",
    run: (kit, fx) =>
      expectRejection(
        () =>
          kit.runtimeSql(fx.a.tenantId, (sql) => {
            const a = sqlKey(fx, fx.a.sql, 1);
            const column = ident(fx.model.table.tenantColumn ?? '');
            return sql.query(`UPDATE ${tableOf(fx)} SET ${column} = $1 WHERE ${a.where}`, [
              fx.b.tenantId,
              ...a.params,
            ]);
          }),
        'SQLSTATE 42501 (row-level security), 23514 (the key column cannot be changed) or, on ' +
          'Citus, 0A000 (the distribution column cannot be changed)',
        (error) =>
          isRowLevelSecurityViolation(error) ||
          isKeyChangeRefusal(error) ||
          isPartitionValueRefusal(error),
      ),
  },
  {
    layer: 'database',
    name: 'without a tenant setting the table reads empty',
    async run(kit, fx) {
      await kit.runtimeSql(undefined, async (sql) => {
        const { rows } = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${tableOf(fx)}`,
        );
        if (rows[0]?.n !== 0) fail(`counted ${rows[0]?.n} row(s) with no tenant setting`);
      });
    },
  },
];

const DATA_CHECKS: IsolationCheck[] = [
  {
    layer: 'data',
    name: "B's rows are unchanged and A's row is still A's (read as admin)",
    async run(kit, fx) {
      const now = await kit.snapshot(fx.model, fx.b.tenantId);
      if (!isDeepStrictEqual(now, fx.bSnapshot)) {
        fail(`B's rows changed:\n  before ${show(fx.bSnapshot)}\n  after  ${show(now)}`);
      }
      const a = await kit.adminDelegate(fx).findFirst({ where: fx.a.where });
      if (a?.[fx.model.tenantField] !== fx.a.tenantId) fail(`A's row is now ${show(a)}`);
    },
  },
];

/**
 * Every check, in the order `describeTenantIsolation` runs them: the client layer, the driver,
 * the database alone, then the state afterwards. None of them changes B's data when isolation
 * holds (database checks always roll back).
 */
export const ISOLATION_CHECKS: readonly IsolationCheck[] = [
  ...CLIENT_CHECKS,
  ...DRIVER_CHECKS,
  ...DATABASE_CHECKS,
  ...DATA_CHECKS,
];
