import { UnscopableQueryError } from 'nest-prisma-tenancy';

/**
 * `{ id }` where Prisma's types want the `(workspaceId, id)` key: layer 1 supplies the tenant in
 * nested unique inputs too, but TenantScopedClient types only the top-level `where` and `cursor`.
 */
const nestedId = (id: string) => ({ id }) as never;
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient, type ApprovalStatus } from '@prisma/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import fc from 'fast-check';
import pg from 'pg';
import { CrossTenantWriteError } from 'nest-prisma-tenancy';
import {
  createTenantAdapter,
  createTenantPrismaClient,
  runInTenant,
  type TenantPrismaClient,
} from 'nest-prisma-tenancy';

/**
 * Model-based property tests of the tenant client over ApprovalItem, Project and ApprovalComment.
 *
 * A run creates 3-4 workspaces (each seeded with a project, an item in it and a comment on it), then
 * issues a random sequence of 1-20 operations, each as a random workspace, through the tenant
 * client as applications get it (createTenantPrismaClient over createTenantAdapter, as app_runtime).
 * Ids are drawn from every id seen so far plus ids that never existed, so they are the caller's own,
 * another workspace's, deleted or missing. A reference model tracks who owns which ids and what
 * exists; after every operation the result must equal what the model predicts for the caller, which
 * implies: results hold only the caller's rows, counts are the caller's counts, and another
 * workspace's id behaves exactly like an id that never existed. At the end the whole database (read
 * as app_admin) must equal the model. A second property issues reads of different workspaces
 * concurrently (in one tick, where Prisma batches requests).
 *
 * Rejected calls must fail with exactly these errors (anything else fails the property):
 * - `PrismaClientKnownRequestError` P2025: update / delete / nested `connect` of an id the caller
 *   does not own (foreign, deleted or never existing);
 * - P2003: a scalar foreign key (`projectId`, `approvalItemId`) to a row the caller does not own
 *   (the composite key `(workspace_id, x_id)` has no such row), and deleting a project that still
 *   has items (ON DELETE RESTRICT; on PostgreSQL 18 a DriverAdapterError with SQLSTATE 23001);
 * - P2002: a slug already used in the caller's workspace (slugs are unique per workspace only);
 * - `CrossTenantWriteError`: `workspaceId` naming another workspace, on create or update.
 * An upsert of an id the caller does not own creates a new row in the caller's workspace.
 *
 * fast-check prints the seed and the shrunk counterexample on failure; replay with
 * `fc.assert(..., { seed, path })`.
 */

const LABELS = ['a', 'b', 'c'] as const;
const SLUGS = ['s1', 's2', 's3'] as const;
const STATUSES: readonly ApprovalStatus[] = ['PENDING', 'APPROVED', 'REJECTED'];
const NUM_RUNS = 100;

type Table = 'project' | 'item' | 'comment';

interface ProjectRow {
  id: string;
  ws: string;
  name: string;
  slug: string;
}
interface ItemRow {
  id: string;
  ws: string;
  projectId: string | null;
  title: string;
  status: ApprovalStatus;
}
interface CommentRow {
  id: string;
  ws: string;
  itemId: string;
  body: string;
}
type AnyRow = ProjectRow | ItemRow | CommentRow;

const project = (r: {
  id: string;
  workspaceId: string;
  name: string;
  slug: string;
}): ProjectRow => ({
  id: r.id,
  ws: r.workspaceId,
  name: r.name,
  slug: r.slug,
});
const item = (r: {
  id: string;
  workspaceId: string;
  projectId: string | null;
  title: string;
  status: ApprovalStatus;
}): ItemRow => ({
  id: r.id,
  ws: r.workspaceId,
  projectId: r.projectId,
  title: r.title,
  status: r.status,
});
const comment = (r: {
  id: string;
  workspaceId: string;
  approvalItemId: string;
  body: string;
}): CommentRow => ({
  id: r.id,
  ws: r.workspaceId,
  itemId: r.approvalItemId,
  body: r.body,
});
const byId = <T extends { id: string }>(rows: readonly T[]): T[] =>
  [...rows].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));

/** The reference model: what exists, who owns it, and every id ever seen (plus never-used ids). */
class Model {
  readonly projects = new Map<string, ProjectRow>();
  readonly items = new Map<string, ItemRow>();
  readonly comments = new Map<string, CommentRow>();
  readonly pools: Record<Table, string[]> = {
    project: [randomUUID(), randomUUID()],
    item: [randomUUID(), randomUUID()],
    comment: [randomUUID(), randomUUID()],
  };

  constructor(readonly workspaces: readonly string[]) {}

  ws(n: number): string {
    return this.workspaces[n % this.workspaces.length];
  }

  /** A known id of `table`: own, another workspace's, deleted, or never existing. */
  pick(table: Table, n: number): string {
    const pool = this.pools[table];
    return pool[n % pool.length];
  }

  rows(table: Table): Map<string, AnyRow> {
    return table === 'project' ? this.projects : table === 'item' ? this.items : this.comments;
  }

  add(table: Table, row: AnyRow): void {
    this.rows(table).set(row.id, row);
    if (!this.pools[table].includes(row.id)) this.pools[table].push(row.id);
  }

  /** The row `id` of `table` when it exists and belongs to `ws`. */
  own<T extends AnyRow>(table: Table, ws: string, id: string): T | undefined {
    const row = this.rows(table).get(id);
    return row && row.ws === ws ? (row as T) : undefined;
  }

  ownRows<T extends AnyRow>(table: Table, ws: string): T[] {
    return byId([...this.rows(table).values()].filter((r) => r.ws === ws) as T[]);
  }

  hasItems(projectId: string): boolean {
    return [...this.items.values()].some((i) => i.projectId === projectId);
  }

  deleteItem(id: string): void {
    this.items.delete(id);
    for (const c of [...this.comments.values()]) if (c.itemId === id) this.comments.delete(c.id);
  }
}

// ---------------------------------------------------------------------------------------------
// Operations: plain data (printed in counterexamples), interpreted against the client and model.
// ---------------------------------------------------------------------------------------------

type Filter = { kind: 'all' } | { kind: 'label'; value: string } | { kind: 'ids'; picks: number[] };

type Op =
  | { op: 'findMany'; ws: number; table: Table; filter: Filter }
  | { op: 'findFirst'; ws: number; table: Table; pick: number }
  | { op: 'findUnique'; ws: number; table: Table; pick: number }
  | { op: 'count'; ws: number; table: Table; filter: Filter }
  | { op: 'aggregate'; ws: number }
  | { op: 'groupBy'; ws: number }
  | { op: 'createProject'; ws: number; name: string; slug: string; workspace: number | null }
  | { op: 'createItem'; ws: number; title: string; status: ApprovalStatus; project: number | null }
  | { op: 'createComment'; ws: number; body: string; item: number }
  | {
      op: 'createManyProjects';
      ws: number;
      rows: { name: string; slug: string }[];
      skipDuplicates: boolean;
      andReturn: boolean;
    }
  | { op: 'createManyItems'; ws: number; titles: string[]; andReturn: boolean }
  | { op: 'update'; ws: number; table: Table; pick: number; label: string }
  | { op: 'updateMany'; ws: number; table: Table; filter: Filter; label: string }
  | { op: 'delete'; ws: number; table: Table; pick: number }
  | { op: 'deleteMany'; ws: number; table: Table; filter: Filter }
  | { op: 'upsertProject'; ws: number; pick: number; name: string; slug: string }
  | { op: 'moveItem'; ws: number; pick: number; to: number }
  | { op: 'itemsByProjectName'; ws: number; name: string }
  | { op: 'itemsByProjectId'; ws: number; project: number }
  // Nested writes, list-relation filters, relation includes and relation counts:
  | { op: 'createProjectWithItems'; ws: number; name: string; slug: string; titles: string[] }
  | { op: 'createItemConnect'; ws: number; title: string; project: number }
  | { op: 'createItemWithComments'; ws: number; title: string; bodies: string[] }
  | { op: 'itemsByComments'; ws: number; quantifier: 'some' | 'every' | 'none'; body: string }
  | { op: 'itemWithRelations'; ws: number; pick: number }
  | { op: 'projectsWithItems'; ws: number };

const wsArb = fc.nat(3);
const tableArb = fc.constantFrom<Table>('project', 'item', 'comment');
const labelArb = fc.constantFrom(...LABELS);
const slugArb = fc.constantFrom(...SLUGS);
const pickArb = fc.nat(40);
const filterArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.constant<Filter>({ kind: 'all' }),
  labelArb.map<Filter>((value) => ({ kind: 'label', value })),
  fc
    .array(pickArb, { minLength: 1, maxLength: 3 })
    .map<Filter>((picks) => ({ kind: 'ids', picks })),
);

/** Operations that change nothing: their expected results do not depend on their order. */
const READ_OPS: fc.Arbitrary<Op>[] = [
  fc.record({
    op: fc.constant('findMany' as const),
    ws: wsArb,
    table: tableArb,
    filter: filterArb,
  }),
  fc.record({ op: fc.constant('findFirst' as const), ws: wsArb, table: tableArb, pick: pickArb }),
  fc.record({ op: fc.constant('findUnique' as const), ws: wsArb, table: tableArb, pick: pickArb }),
  fc.record({ op: fc.constant('count' as const), ws: wsArb, table: tableArb, filter: filterArb }),
  fc.record({ op: fc.constant('aggregate' as const), ws: wsArb }),
  fc.record({ op: fc.constant('groupBy' as const), ws: wsArb }),
  fc.record({ op: fc.constant('itemsByProjectName' as const), ws: wsArb, name: labelArb }),
  fc.record({ op: fc.constant('itemsByProjectId' as const), ws: wsArb, project: pickArb }),
  fc.record({
    op: fc.constant('itemsByComments' as const),
    ws: wsArb,
    quantifier: fc.constantFrom('some' as const, 'every' as const, 'none' as const),
    body: labelArb,
  }),
  fc.record({ op: fc.constant('itemWithRelations' as const), ws: wsArb, pick: pickArb }),
  fc.record({ op: fc.constant('projectsWithItems' as const), ws: wsArb }),
];

/** Operations that write (or try to, and must be refused). */
const WRITE_OPS: fc.Arbitrary<Op>[] = [
  fc.record({
    op: fc.constant('createProject' as const),
    ws: wsArb,
    name: labelArb,
    slug: slugArb,
    workspace: fc.option(wsArb, { freq: 3, nil: null }),
  }),
  fc.record({
    op: fc.constant('createItem' as const),
    ws: wsArb,
    title: labelArb,
    status: fc.constantFrom(...STATUSES),
    project: fc.option(pickArb, { freq: 3, nil: null }),
  }),
  fc.record({
    op: fc.constant('createComment' as const),
    ws: wsArb,
    body: labelArb,
    item: pickArb,
  }),
  fc.record({
    op: fc.constant('createManyProjects' as const),
    ws: wsArb,
    rows: fc.array(fc.record({ name: labelArb, slug: slugArb }), { minLength: 1, maxLength: 3 }),
    skipDuplicates: fc.boolean(),
    andReturn: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('createManyItems' as const),
    ws: wsArb,
    titles: fc.array(labelArb, { minLength: 1, maxLength: 3 }),
    andReturn: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('update' as const),
    ws: wsArb,
    table: tableArb,
    pick: pickArb,
    label: labelArb,
  }),
  fc.record({
    op: fc.constant('updateMany' as const),
    ws: wsArb,
    table: tableArb,
    filter: filterArb,
    label: labelArb,
  }),
  fc.record({ op: fc.constant('delete' as const), ws: wsArb, table: tableArb, pick: pickArb }),
  fc.record({
    op: fc.constant('deleteMany' as const),
    ws: wsArb,
    table: tableArb,
    filter: filterArb,
  }),
  fc.record({
    op: fc.constant('upsertProject' as const),
    ws: wsArb,
    pick: pickArb,
    name: labelArb,
    slug: slugArb,
  }),
  fc.record({ op: fc.constant('moveItem' as const), ws: wsArb, pick: pickArb, to: wsArb }),
  fc.record({
    op: fc.constant('createProjectWithItems' as const),
    ws: wsArb,
    name: labelArb,
    slug: slugArb,
    titles: fc.array(labelArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    op: fc.constant('createItemConnect' as const),
    ws: wsArb,
    title: labelArb,
    project: pickArb,
  }),
  fc.record({
    op: fc.constant('createItemWithComments' as const),
    ws: wsArb,
    title: labelArb,
    bodies: fc.array(labelArb, { minLength: 1, maxLength: 3 }),
  }),
];

const OPS = [...READ_OPS, ...WRITE_OPS];

const scenario = (ops: fc.Arbitrary<Op>[]) =>
  fc.record({
    workspaces: fc.integer({ min: 3, max: 4 }),
    ops: fc.array(fc.oneof(...ops), { minLength: 1, maxLength: 20 }),
  });

// ---------------------------------------------------------------------------------------------
// Checking one operation.
// ---------------------------------------------------------------------------------------------

/** The property's failure: which operation, what was expected and what happened. */
class Divergence extends Error {
  override name = 'Divergence';
  constructor(
    readonly index: number,
    readonly op: Op,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`operation #${index} ${JSON.stringify(op)}: ${detail}`, options);
  }
}

type Rejection = 'P2025' | 'P2003' | 'P2002' | 'CrossTenantWriteError' | 'UnscopableQueryError';

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const last = error.message.trim().split('\n').pop() ?? '';
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${last}`;
}

/**
 * PostgreSQL 18 reports a violated `ON DELETE RESTRICT` key as SQLSTATE 23001 restrict_violation
 * (15 says 23503, which Prisma turns into P2003); @prisma/adapter-pg 6.19 does not classify 23001,
 * so it arrives as a raw DriverAdapterError. The same outcome as P2003 (the filter answers both
 * with 409).
 */
function isRestrictViolation(error: unknown): boolean {
  if (!(error instanceof DriverAdapterError)) return false;
  const cause = error.cause as { kind: string; code?: unknown };
  return cause.kind === 'postgres' && cause.code === '23001';
}

function matches(error: unknown, expected: Rejection): boolean {
  if (expected === 'CrossTenantWriteError') return error instanceof CrossTenantWriteError;
  if (expected === 'UnscopableQueryError') return error instanceof UnscopableQueryError;
  if (expected === 'P2003' && isRestrictViolation(error)) return true;
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === expected;
}

const labelField: Record<Table, string> = { project: 'name', item: 'title', comment: 'body' };

class Runner {
  constructor(
    private readonly db: TenantPrismaClient,
    private readonly admin: PrismaClient,
    private readonly model: Model,
  ) {}

  private index = 0;
  private current: Op | undefined;

  private fail(detail: string, cause?: unknown): never {
    throw new Divergence(
      this.index,
      this.current as Op,
      detail,
      cause === undefined ? undefined : { cause },
    );
  }

  private same(actual: unknown, expected: unknown, what = 'result'): void {
    if (!isDeepStrictEqual(actual, expected)) {
      this.fail(
        `${what}\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`,
      );
    }
  }

  /** Runs `work` as `ws`; returns its value, or checks that it failed with `rejection`. */
  private async call<T>(
    ws: string,
    work: () => Promise<T>,
    rejection?: Rejection,
  ): Promise<T | undefined> {
    try {
      const value = await runInTenant(ws, work);
      if (rejection)
        this.fail(`expected ${rejection}, but it succeeded with ${JSON.stringify(value)}`);
      return value;
    } catch (error) {
      if (error instanceof Divergence) throw error;
      if (rejection && matches(error, rejection)) return undefined;
      this.fail(`expected ${rejection ?? 'success'}, got ${describeError(error)}`, error);
    }
  }

  private where(
    table: Table,
    ws: string,
    filter: Filter,
  ): { prisma: Record<string, unknown>; rows: AnyRow[] } {
    const rows = this.model.ownRows(table, ws);
    if (filter.kind === 'all') return { prisma: {}, rows };
    if (filter.kind === 'label') {
      const field = labelField[table];
      return {
        prisma: { [field]: filter.value },
        rows: rows.filter((r) => (r as unknown as Record<string, unknown>)[field] === filter.value),
      };
    }
    const ids = filter.picks.map((p) => this.model.pick(table, p));
    return { prisma: { id: { in: ids } }, rows: rows.filter((r) => ids.includes(r.id)) };
  }

  private delegate(table: Table) {
    const { db } = this;
    return {
      findMany: async (where: object) =>
        table === 'project'
          ? (await db.project.findMany({ where })).map(project)
          : table === 'item'
            ? (await db.approvalItem.findMany({ where })).map(item)
            : (await db.approvalComment.findMany({ where })).map(comment),
      findFirst: async (id: string) => {
        const row =
          table === 'project'
            ? await db.project.findFirst({ where: { id } }).then((r) => r && project(r))
            : table === 'item'
              ? await db.approvalItem.findFirst({ where: { id } }).then((r) => r && item(r))
              : await db.approvalComment.findFirst({ where: { id } }).then((r) => r && comment(r));
        return row;
      },
      findUnique: async (id: string) =>
        table === 'project'
          ? await db.project.findUnique({ where: { id } }).then((r) => r && project(r))
          : table === 'item'
            ? await db.approvalItem.findUnique({ where: { id } }).then((r) => r && item(r))
            : await db.approvalComment.findUnique({ where: { id } }).then((r) => r && comment(r)),
      count: (where: object) =>
        table === 'project'
          ? db.project.count({ where })
          : table === 'item'
            ? db.approvalItem.count({ where })
            : db.approvalComment.count({ where }),
      update: async (id: string, label: string): Promise<AnyRow> =>
        table === 'project'
          ? project(await db.project.update({ where: { id }, data: { name: label } }))
          : table === 'item'
            ? item(await db.approvalItem.update({ where: { id }, data: { title: label } }))
            : comment(await db.approvalComment.update({ where: { id }, data: { body: label } })),
      updateMany: (where: object, label: string) =>
        table === 'project'
          ? db.project.updateMany({ where, data: { name: label } })
          : table === 'item'
            ? db.approvalItem.updateMany({ where, data: { title: label } })
            : db.approvalComment.updateMany({ where, data: { body: label } }),
      delete: async (id: string): Promise<AnyRow> =>
        table === 'project'
          ? project(await db.project.delete({ where: { id } }))
          : table === 'item'
            ? item(await db.approvalItem.delete({ where: { id } }))
            : comment(await db.approvalComment.delete({ where: { id } })),
      deleteMany: (where: object) =>
        table === 'project'
          ? db.project.deleteMany({ where })
          : table === 'item'
            ? db.approvalItem.deleteMany({ where })
            : db.approvalComment.deleteMany({ where }),
    };
  }

  private relabel(table: Table, row: AnyRow, label: string): AnyRow {
    if (table === 'project') return { ...(row as ProjectRow), name: label };
    if (table === 'item') return { ...(row as ItemRow), title: label };
    return { ...(row as CommentRow), body: label };
  }

  /** Rows of `ws` that exist in the database but not in the model (what a createMany made). */
  private async newRows(table: 'project' | 'item', ws: string): Promise<AnyRow[]> {
    const known = [...this.model.rows(table).keys()];
    const where = { workspaceId: ws, id: { notIn: known } };
    return table === 'project'
      ? (await this.admin.project.findMany({ where })).map(project)
      : (await this.admin.approvalItem.findMany({ where })).map(item);
  }

  /** Runs `ops` one after the other, checking each against the model. */
  async run(ops: readonly Op[]): Promise<void> {
    for (const [index, op] of ops.entries()) await this.runOne(index, op);
  }

  /** Runs one operation (number `index` in its sequence) and checks it against the model. */
  async runOne(index: number, op: Op): Promise<void> {
    this.index = index;
    this.current = op;
    await this.step(op);
  }

  private async step(op: Op): Promise<void> {
    const m = this.model;
    const ws = m.ws(op.ws);
    const db = this.db;
    switch (op.op) {
      case 'findMany': {
        const { prisma, rows } = this.where(op.table, ws, op.filter);
        const actual = await this.call(ws, () => this.delegate(op.table).findMany(prisma));
        this.same(byId<AnyRow>(actual ?? []), rows);
        return;
      }
      case 'findFirst':
      case 'findUnique': {
        const id = m.pick(op.table, op.pick);
        const d = this.delegate(op.table);
        const actual = await this.call(ws, () =>
          op.op === 'findFirst' ? d.findFirst(id) : d.findUnique(id),
        );
        this.same(actual, m.own(op.table, ws, id) ?? null);
        return;
      }
      case 'count': {
        const { prisma, rows } = this.where(op.table, ws, op.filter);
        this.same(await this.call(ws, () => this.delegate(op.table).count(prisma)), rows.length);
        return;
      }
      case 'aggregate': {
        const own = m.ownRows<ItemRow>('item', ws);
        const actual = await this.call(ws, () =>
          db.approvalItem.aggregate({ _count: { _all: true }, _max: { title: true } }),
        );
        const titles = own.map((i) => i.title).sort();
        this.same(actual, {
          _count: { _all: own.length },
          _max: { title: titles[titles.length - 1] ?? null },
        });
        return;
      }
      case 'groupBy': {
        const actual = await this.call(ws, () =>
          db.approvalItem.groupBy({
            by: ['status'],
            _count: { _all: true },
            orderBy: { status: 'asc' },
          }),
        );
        const counts = new Map<string, number>();
        for (const i of m.ownRows<ItemRow>('item', ws))
          counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
        const expected = STATUSES.filter((s) => counts.has(s)).map((status) => ({
          _count: { _all: counts.get(status) },
          status,
        }));
        this.same(actual, expected);
        return;
      }
      case 'createProject': {
        const target = op.workspace === null ? undefined : m.ws(op.workspace);
        const rejection: Rejection | undefined =
          target !== undefined && target !== ws
            ? 'CrossTenantWriteError'
            : m.ownRows<ProjectRow>('project', ws).some((p) => p.slug === op.slug)
              ? 'P2002'
              : undefined;
        const data = {
          name: op.name,
          slug: op.slug,
          ...(target === undefined ? {} : { workspaceId: target }),
        };
        const created = await this.call(
          ws,
          async () => project(await db.project.create({ data })),
          rejection,
        );
        if (created) {
          this.same(created, { id: created.id, ws, name: op.name, slug: op.slug });
          m.add('project', created);
        }
        return;
      }
      case 'createItem': {
        const projectId = op.project === null ? null : m.pick('project', op.project);
        const rejection =
          projectId !== null && !m.own('project', ws, projectId) ? 'P2003' : undefined;
        const created = await this.call(
          ws,
          async () =>
            item(
              await db.approvalItem.create({
                data: {
                  title: op.title,
                  status: op.status,
                  ...(projectId === null ? {} : { projectId }),
                },
              }),
            ),
          rejection,
        );
        if (created) {
          this.same(created, { id: created.id, ws, projectId, title: op.title, status: op.status });
          m.add('item', created);
        }
        return;
      }
      case 'createComment': {
        const itemId = m.pick('item', op.item);
        const rejection = m.own('item', ws, itemId) ? undefined : 'P2003';
        const created = await this.call(
          ws,
          async () =>
            comment(
              await db.approvalComment.create({ data: { body: op.body, approvalItemId: itemId } }),
            ),
          rejection,
        );
        if (created) {
          this.same(created, { id: created.id, ws, itemId, body: op.body });
          m.add('comment', created);
        }
        return;
      }
      case 'createManyProjects': {
        const taken = new Set(m.ownRows<ProjectRow>('project', ws).map((p) => p.slug));
        const fresh: { name: string; slug: string }[] = [];
        for (const row of op.rows) {
          if (taken.has(row.slug)) continue;
          taken.add(row.slug);
          fresh.push(row);
        }
        const rejection = !op.skipDuplicates && fresh.length < op.rows.length ? 'P2002' : undefined;
        const args = { data: op.rows, skipDuplicates: op.skipDuplicates };
        const result = await this.call(
          ws,
          async () =>
            op.andReturn
              ? (await db.project.createManyAndReturn(args)).map(project)
              : (await db.project.createMany(args)).count,
          rejection,
        );
        if (result === undefined) return;
        const created = Array.isArray(result) ? result : await this.newRows('project', ws);
        if (!Array.isArray(result)) this.same(result, fresh.length, 'count');
        const bySlug = (rows: readonly { slug: string; name: string; ws?: string }[]) =>
          [...rows]
            .map((r) => ({ slug: r.slug, name: r.name }))
            .sort((x, y) => x.slug.localeCompare(y.slug));
        this.same(bySlug(created as ProjectRow[]), bySlug(fresh), 'created projects');
        this.same(
          created.map((r) => r.ws),
          created.map(() => ws),
          'workspaces of the created projects',
        );
        for (const row of created) m.add('project', row);
        return;
      }
      case 'createManyItems': {
        const data = op.titles.map((title) => ({ title }));
        const result = await this.call(ws, async () =>
          op.andReturn
            ? (await db.approvalItem.createManyAndReturn({ data })).map(item)
            : (await db.approvalItem.createMany({ data })).count,
        );
        const created = Array.isArray(result) ? result : await this.newRows('item', ws);
        if (!Array.isArray(result)) this.same(result, op.titles.length, 'count');
        this.same(
          (created as ItemRow[])
            .map((i) => ({ ws: i.ws, title: i.title, projectId: i.projectId }))
            .sort((x, y) => x.title.localeCompare(y.title)),
          op.titles
            .map((title) => ({ ws, title, projectId: null }))
            .sort((x, y) => x.title.localeCompare(y.title)),
          'created items',
        );
        for (const row of created) m.add('item', row);
        return;
      }
      case 'update': {
        const id = m.pick(op.table, op.pick);
        const own = m.own(op.table, ws, id);
        const updated = await this.call(
          ws,
          () => this.delegate(op.table).update(id, op.label),
          own ? undefined : 'P2025',
        );
        if (own) {
          const expected = this.relabel(op.table, own, op.label);
          this.same(updated, expected);
          m.add(op.table, expected);
        }
        return;
      }
      case 'updateMany': {
        const { prisma, rows } = this.where(op.table, ws, op.filter);
        const result = await this.call(ws, () =>
          this.delegate(op.table).updateMany(prisma, op.label),
        );
        this.same(result, { count: rows.length });
        for (const row of rows) m.add(op.table, this.relabel(op.table, row, op.label));
        return;
      }
      case 'delete': {
        const id = m.pick(op.table, op.pick);
        const own = m.own(op.table, ws, id);
        const rejection = !own
          ? 'P2025'
          : op.table === 'project' && m.hasItems(id)
            ? 'P2003'
            : undefined;
        const deleted = await this.call(ws, () => this.delegate(op.table).delete(id), rejection);
        if (rejection) return;
        this.same(deleted, own);
        if (op.table === 'item') m.deleteItem(id);
        else m.rows(op.table).delete(id);
        return;
      }
      case 'deleteMany': {
        const { prisma, rows } = this.where(op.table, ws, op.filter);
        const restricted = op.table === 'project' && rows.some((p) => m.hasItems(p.id));
        const result = await this.call(
          ws,
          () => this.delegate(op.table).deleteMany(prisma),
          restricted ? 'P2003' : undefined,
        );
        if (restricted) return;
        this.same(result, { count: rows.length });
        for (const row of rows) {
          if (op.table === 'item') m.deleteItem(row.id);
          else m.rows(op.table).delete(row.id);
        }
        return;
      }
      case 'upsertProject': {
        const id = m.pick('project', op.pick);
        const own = m.own<ProjectRow>('project', ws, id);
        const slugTaken = m.ownRows<ProjectRow>('project', ws).some((p) => p.slug === op.slug);
        const result = await this.call(
          ws,
          async () =>
            project(
              await db.project.upsert({
                where: { id },
                create: { name: op.name, slug: op.slug },
                update: { name: op.name },
              }),
            ),
          !own && slugTaken ? 'P2002' : undefined,
        );
        if (!result) return;
        if (own) this.same(result, { ...own, name: op.name });
        else {
          this.same(result, { id: result.id, ws, name: op.name, slug: op.slug });
          if (result.id === id)
            this.fail(`created a new project with the foreign or missing id ${id}`);
        }
        m.add('project', result);
        return;
      }
      case 'moveItem': {
        const id = m.pick('item', op.pick);
        const to = m.ws(op.to);
        const own = m.own<ItemRow>('item', ws, id);
        // workspaceId is part of the item's primary key: writing it is refused even unchanged.
        const rejection = to !== ws ? 'CrossTenantWriteError' : 'UnscopableQueryError';
        const result = await this.call(
          ws,
          async () =>
            item(await db.approvalItem.update({ where: { id }, data: { workspaceId: to } })),
          rejection,
        );
        if (result) this.same(result, own);
        return;
      }
      case 'itemsByProjectName': {
        const actual = await this.call(ws, () =>
          db.approvalItem.findMany({ where: { project: { is: { name: op.name } } } }),
        );
        const expected = m
          .ownRows<ItemRow>('item', ws)
          .filter((i) => i.projectId !== null && m.projects.get(i.projectId)?.name === op.name);
        this.same(byId((actual ?? []).map(item)), expected);
        return;
      }
      case 'itemsByProjectId': {
        const projectId = m.pick('project', op.project);
        const actual = await this.call(ws, () =>
          db.approvalItem.findMany({ where: { projectId } }),
        );
        this.same(
          byId((actual ?? []).map(item)),
          m.ownRows<ItemRow>('item', ws).filter((i) => i.projectId === projectId),
        );
        return;
      }
      case 'createProjectWithItems': {
        const slugTaken = m.ownRows<ProjectRow>('project', ws).some((p) => p.slug === op.slug);
        const result = await this.call(
          ws,
          () =>
            db.project.create({
              data: {
                name: op.name,
                slug: op.slug,
                approvalItems: { create: op.titles.map((title) => ({ title })) },
              },
              include: { approvalItems: true },
            }),
          slugTaken ? 'P2002' : undefined,
        );
        if (!result) return;
        const created = project(result);
        this.same(created, { id: created.id, ws, name: op.name, slug: op.slug });
        const items = result.approvalItems.map(item);
        this.same(
          items
            .map((i) => ({ ws: i.ws, projectId: i.projectId, title: i.title }))
            .sort((x, y) => x.title.localeCompare(y.title)),
          op.titles
            .map((title) => ({ ws, projectId: created.id, title }))
            .sort((x, y) => x.title.localeCompare(y.title)),
          'nested items',
        );
        m.add('project', created);
        for (const i of items) m.add('item', i);
        return;
      }
      case 'createItemConnect': {
        const projectId = m.pick('project', op.project);
        const result = await this.call(
          ws,
          async () =>
            item(
              await db.approvalItem.create({
                data: { title: op.title, project: { connect: nestedId(projectId) } },
              }),
            ),
          m.own('project', ws, projectId) ? undefined : 'P2025',
        );
        if (!result) return;
        this.same(result, { id: result.id, ws, projectId, title: op.title, status: 'PENDING' });
        m.add('item', result);
        return;
      }
      case 'createItemWithComments': {
        const result = await this.call(ws, () =>
          db.approvalItem.create({
            data: { title: op.title, comments: { create: op.bodies.map((body) => ({ body })) } },
            include: { comments: true },
          }),
        );
        if (!result) return;
        const created = item(result);
        this.same(created, {
          id: created.id,
          ws,
          projectId: null,
          title: op.title,
          status: 'PENDING',
        });
        const comments = result.comments.map(comment);
        this.same(
          comments
            .map((c) => ({ ws: c.ws, itemId: c.itemId, body: c.body }))
            .sort((x, y) => x.body.localeCompare(y.body)),
          op.bodies
            .map((body) => ({ ws, itemId: created.id, body }))
            .sort((x, y) => x.body.localeCompare(y.body)),
          'nested comments',
        );
        m.add('item', created);
        for (const c of comments) m.add('comment', c);
        return;
      }
      case 'itemsByComments': {
        const { quantifier, body } = op;
        const actual = await this.call(ws, () =>
          db.approvalItem.findMany({ where: { comments: { [quantifier]: { body } } } }),
        );
        const expected = m.ownRows<ItemRow>('item', ws).filter((i) => {
          const bodies = [...m.comments.values()]
            .filter((c) => c.itemId === i.id)
            .map((c) => c.body);
          if (quantifier === 'some') return bodies.includes(body);
          if (quantifier === 'none') return !bodies.includes(body);
          return bodies.every((b) => b === body);
        });
        this.same(byId((actual ?? []).map(item)), expected);
        return;
      }
      case 'itemWithRelations': {
        const id = m.pick('item', op.pick);
        const actual = await this.call(ws, () =>
          db.approvalItem.findUnique({ where: { id }, include: { project: true, comments: true } }),
        );
        const own = m.own<ItemRow>('item', ws, id);
        if (!own) return this.same(actual, null);
        this.same(
          actual && {
            item: item(actual),
            project: actual.project && project(actual.project),
            comments: byId(actual.comments.map(comment)),
          },
          {
            item: own,
            project: own.projectId === null ? null : (m.projects.get(own.projectId) ?? null),
            comments: byId([...m.comments.values()].filter((c) => c.itemId === id)),
          },
        );
        return;
      }
      case 'projectsWithItems': {
        const actual = await this.call(ws, () =>
          db.project.findMany({
            include: { approvalItems: true, _count: { select: { approvalItems: true } } },
          }),
        );
        this.same(
          byId(
            (actual ?? []).map((p) => ({
              ...project(p),
              items: byId(p.approvalItems.map(item)),
              count: p._count.approvalItems,
            })),
          ),
          m.ownRows<ProjectRow>('project', ws).map((p) => {
            const items = byId([...m.items.values()].filter((i) => i.projectId === p.id));
            return { ...p, items, count: items.length };
          }),
        );
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('tenant client, model-based (fast-check)', () => {
  let owner: pg.Client;
  let admin: PrismaClient;
  let base: PrismaClient;
  let db: TenantPrismaClient;

  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run the tests through jest (global setup)`);
    return value;
  };

  beforeAll(async () => {
    owner = new pg.Client({ connectionString: env('DIRECT_URL') });
    await owner.connect();
    admin = new PrismaClient({
      adapter: new PrismaPg({ connectionString: env('SYSTEM_DATABASE_URL') }),
    });
    base = new PrismaClient({ adapter: createTenantAdapter(env('DATABASE_URL')) });
    db = createTenantPrismaClient(base);
  });

  afterAll(async () => {
    await reset().catch(() => undefined);
    await Promise.allSettled([admin?.$disconnect(), base?.$disconnect()]);
    await owner?.end();
  });

  /** Empties the tables under test (as the owner, who is not subject to RLS). */
  const RESET = [
    'DELETE FROM approval_comments',
    'DELETE FROM approval_items',
    'DELETE FROM projects',
    'DELETE FROM workspaces',
  ];

  async function reset(): Promise<void> {
    await owner.query(RESET.join('; '));
  }

  /**
   * Fresh workspaces, each with a project, an item in it and a comment on the item: one round trip
   * as the owner (the values are UUIDs and constants, escaped all the same).
   */
  async function seed(count: number): Promise<Model> {
    const model = new Model(Array.from({ length: count }, () => randomUUID()));
    for (const ws of model.workspaces) {
      const p: ProjectRow = { id: randomUUID(), ws, name: 'a', slug: 's1' };
      const i: ItemRow = { id: randomUUID(), ws, projectId: p.id, title: 'a', status: 'PENDING' };
      const c: CommentRow = { id: randomUUID(), ws, itemId: i.id, body: 'a' };
      model.add('project', p);
      model.add('item', i);
      model.add('comment', c);
    }
    const values = (rows: readonly (readonly (string | null)[])[]) =>
      rows
        .map((row) => `(${row.map((v) => (v === null ? 'NULL' : pg.escapeLiteral(v))).join(', ')})`)
        .join(', ');
    const all = <T extends AnyRow>(table: Table) => [...model.rows(table).values()] as T[];
    await owner.query(
      [
        ...RESET,
        `INSERT INTO workspaces (id, name, slug) VALUES ${values(model.workspaces.map((id) => [id, `Workspace ${id.slice(0, 8)}`, `w-${id}`]))}`,
        `INSERT INTO projects (id, workspace_id, name, slug) VALUES ${values(all<ProjectRow>('project').map((p) => [p.id, p.ws, p.name, p.slug]))}`,
        `INSERT INTO approval_items (id, workspace_id, project_id, title, status) VALUES ${values(
          all<ItemRow>('item').map((i) => [i.id, i.ws, i.projectId, i.title, i.status]),
        )}`,
        `INSERT INTO approval_comments (id, workspace_id, approval_item_id, body) VALUES ${values(
          all<CommentRow>('comment').map((c) => [c.id, c.ws, c.itemId, c.body]),
        )}`,
      ].join('; '),
    );
    return model;
  }

  /** The whole database state, read as app_admin, equals the model. */
  async function expectDatabaseToEqual(model: Model): Promise<void> {
    const actual = {
      projects: byId((await admin.project.findMany()).map(project)),
      items: byId((await admin.approvalItem.findMany()).map(item)),
      comments: byId((await admin.approvalComment.findMany()).map(comment)),
    };
    const expected = {
      projects: byId([...model.projects.values()]),
      items: byId([...model.items.values()]),
      comments: byId([...model.comments.values()]),
    };
    if (!isDeepStrictEqual(actual, expected)) {
      throw new Error(
        `database state differs from the model:\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`,
      );
    }
  }

  it(`keeps every workspace to its own rows over random operation sequences (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario(OPS), async ({ workspaces, ops }) => {
        const model = await seed(workspaces);
        await new Runner(db, admin, model).run(ops);
        await expectDatabaseToEqual(model);
      }),
      { numRuns: NUM_RUNS, verbose: fc.VerbosityLevel.Verbose },
    );
  });

  it(`answers concurrent reads of different workspaces each for its own workspace (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          workspaces: fc.integer({ min: 3, max: 4 }),
          prelude: fc.array(fc.oneof(...OPS), { maxLength: 10 }),
          reads: fc.array(fc.oneof(...READ_OPS), { minLength: 2, maxLength: 12 }),
        }),
        async ({ workspaces, prelude, reads: concurrent }) => {
          const model = await seed(workspaces);
          await new Runner(db, admin, model).run(prelude);
          // Issued in the same tick, so Prisma batches what it can (findUnique) across workspaces.
          await Promise.all(concurrent.map((op, i) => new Runner(db, admin, model).runOne(i, op)));
          await expectDatabaseToEqual(model);
        },
      ),
      { numRuns: NUM_RUNS, verbose: fc.VerbosityLevel.Verbose },
    );
  });

  describe('disconnecting a relation whose composite key includes workspaceId', () => {
    const ownItem = async () => {
      const model = await seed(3);
      return model.ownRows<ItemRow>('item', model.workspaces[0])[0];
    };

    it('works in the scalar form (projectId: null), the workaround', async () => {
      const i = await ownItem();
      const updated = await runInTenant(i.ws, () =>
        db.approvalItem.update({ where: { id: i.id }, data: { projectId: null } }),
      );
      expect(item(updated)).toEqual({ ...i, projectId: null });
    });

    // Prisma's disconnect would set every key field to NULL, workspace_id included; the tenant
    // client refuses it up front with a named error that says what to write instead.
    it('is refused from the item (project: { disconnect: true }), nothing changes', async () => {
      const i = await ownItem();
      await expect(
        runInTenant(i.ws, () =>
          db.approvalItem.update({ where: { id: i.id }, data: { project: { disconnect: true } } }),
        ),
      ).rejects.toThrow(UnscopableQueryError);
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: i.ws, id: i.id } },
        }),
      ).resolves.toMatchObject({
        workspaceId: i.ws,
        projectId: i.projectId,
      });
    });

    it('is refused from the project (approvalItems: { disconnect: [{ id }] } and set)', async () => {
      const i = await ownItem();
      for (const data of [
        { approvalItems: { disconnect: [nestedId(i.id)] } },
        { approvalItems: { set: [] } },
      ]) {
        await expect(
          runInTenant(i.ws, () => db.project.update({ where: { id: i.projectId ?? '' }, data })),
        ).rejects.toThrow(
          /approvalItems\.(disconnect|set): Prisma would set every field of the composite foreign key to NULL/,
        );
      }
      await expect(
        admin.approvalItem.findUnique({
          where: { workspaceId_id: { workspaceId: i.ws, id: i.id } },
        }),
      ).resolves.toMatchObject({
        workspaceId: i.ws,
        projectId: i.projectId,
      });
    });
  });
});
