import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import { createTenantAdapter, createTenantPrismaClient, runInTenant } from './tenant-extension';

const A = randomUUID();
const B = randomUUID();
let base: PrismaClient;
let db: PrismaClient;
let admin: PrismaClient;
let l1: PrismaClient;
const ids: Record<string, string> = {};

function show(label: string, p: Promise<unknown>) {
  return p.then(
    (v) => console.log(label, 'OK', JSON.stringify(v)),
    (e: any) => console.log(label, 'ERR', e?.constructor?.name, e?.name, e?.code, JSON.stringify(e?.meta), String(e?.message).split('\n').slice(-3).join(' | ').slice(0, 500)),
  );
}

beforeAll(async () => {
  base = new PrismaClient({ adapter: createTenantAdapter(process.env.DATABASE_URL!) });
  db = createTenantPrismaClient(base);
  admin = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }) });
  l1 = createTenantPrismaClient(new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.SYSTEM_DATABASE_URL! }) }));
  for (const [k, w] of [['A', A], ['B', B]] as const) {
    await admin.workspace.create({ data: { id: w, name: k, slug: `${k}-${w}` } });
    const p = await admin.project.create({ data: { workspaceId: w, name: 'p', slug: 'p' } });
    ids[`p${k}`] = p.id;
    const i = await admin.approvalItem.create({ data: { workspaceId: w, title: `i${k}`, projectId: p.id } });
    ids[`i${k}`] = i.id;
    const i2 = await admin.approvalItem.create({ data: { workspaceId: w, title: `i2${k}` } });
    ids[`i2${k}`] = i2.id;
  }
  const x = await admin.user.create({ data: { email: `x-${A}@t` } });
  const y = await admin.user.create({ data: { email: `y-${A}@t` } });
  const C = randomUUID();
  await admin.workspace.create({ data: { id: C, name: 'C', slug: `C-${C}` } });
  await admin.workspaceMember.createMany({ data: [{ workspaceId: B, userId: x.id }, { workspaceId: C, userId: x.id }, { workspaceId: A, userId: y.id }] });
  ids.x = x.id; ids.y = y.id;
});
afterAll(async () => {
  await Promise.all([base.$disconnect(), admin.$disconnect(), l1.$disconnect()]);
});

it('explore', async () => {
  await show('nomctx', db.approvalItem.findMany());
  await show('uniqOrThrow', runInTenant(A, () => db.approvalItem.findUniqueOrThrow({ where: { id: ids.iB } })));
  await show('firstOrThrow', runInTenant(A, () => db.approvalItem.findFirstOrThrow({ where: { id: ids.iB } })));
  await show('update', runInTenant(A, () => db.approvalItem.update({ where: { id: ids.iB }, data: { title: 'h' } })));
  await show('delete', runInTenant(A, () => db.approvalItem.delete({ where: { id: ids.iB } })));
  await show('upsert', runInTenant(A, () => db.approvalItem.upsert({ where: { id: ids.iB }, create: { title: 'ups' }, update: { title: 'h' } })));
  await show('upsertWithId', runInTenant(A, () => db.approvalItem.upsert({ where: { id: ids.i2B }, create: { id: ids.i2B, title: 'ups' }, update: { title: 'h' } })));
  await show('wsconnect', runInTenant(A, () => db.workspace.update({ where: { id: A }, data: { approvalItems: { connect: { id: ids.iB } } } })));
  await show('projconnect', runInTenant(A, () => db.approvalItem.create({ data: { title: 'x', project: { connect: { id: ids.pB } } } })));
  await show('projconnectA', runInTenant(A, () => db.approvalItem.create({ data: { title: 'x', project: { connect: { id: ids.pA } } } })));
  await show('projunchecked', runInTenant(A, () => db.approvalItem.create({ data: { title: 'x', projectId: ids.pB } })));
  await show('coc', runInTenant(A, () => db.project.update({ where: { id: ids.pA }, data: { approvalItems: { connectOrCreate: { where: { id: ids.iB }, create: { title: 'coc' } } } } })));
  await show('coc2', runInTenant(A, () => db.approvalItem.create({ data: { title: 'coc2', project: { connectOrCreate: { where: { id: ids.pB }, create: { name: 'n', slug: `s-${randomUUID()}` } } } } })));
  await show('cursor', runInTenant(A, () => db.approvalItem.findMany({ cursor: { id: ids.iA }, orderBy: { id: 'asc' }, select: { id: true } })));
  await show('cursorB', runInTenant(A, () => db.approvalItem.findMany({ cursor: { id: ids.iB }, orderBy: { id: 'asc' }, select: { id: true } })));
  await show('fluent', runInTenant(A, () => l1.user.findUnique({ where: { id: ids.x } }).memberships()));
  await show('skipInclude', runInTenant(A, () => db.user.findMany({ where: { id: ids.x }, include: { memberships: Prisma.skip } })));
  await show('skipSome', runInTenant(A, () => db.user.findMany({ where: { id: { in: [ids.x, ids.y] }, memberships: { some: Prisma.skip } }, select: { id: true } })));
  await show('skipSomeBase', runInTenant(A, () => base.user.findMany({ where: { id: { in: [ids.x, ids.y] }, memberships: { some: Prisma.skip } }, select: { id: true } })));
  await show('upper', runInTenant(A.toUpperCase(), () => db.approvalItem.create({ data: { title: 'up', workspaceId: A.toUpperCase() } })));
  await show('orderL1', runInTenant(A, () => l1.user.findMany({ where: { id: { in: [ids.x, ids.y] } }, orderBy: [{ memberships: { _count: 'desc' } }], select: { id: true, email: true } })));
  await show('orderDb', runInTenant(A, () => db.user.findMany({ where: { id: { in: [ids.x, ids.y] } }, orderBy: [{ memberships: { _count: 'desc' } }], select: { id: true, email: true } })));
  await show('itx', runInTenant(A, () => db.$transaction(async (tx) => tx.$queryRaw`SELECT current_setting('app.workspace_id') AS v`)));
  await show('groupBy', runInTenant(A, () => db.approvalItem.groupBy({ by: ['title'], _count: { _all: true }, orderBy: { title: 'asc' } })));
  await show('createManyEmpty', db.approvalItem.createMany({ data: [] }));
  await show('raw', runInTenant(A, () => db.$queryRaw`SELECT count(*)::int AS n FROM approval_items`));
  await show('built', runInTenant(A, () => ({ q: db.approvalItem.findMany() })).then((r) => r.q));
});
