import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { describeTenantIsolation, isolationModelsOf } from 'nest-prisma-tenancy/testing';
import { AppModule } from '../src/app.module';

/** The database and its roles come from run-example.sh (a scratch database, dropped afterwards). */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through run-example.sh`);
  return value;
}

const orgA = randomUUID();
const orgB = randomUUID();
const alice = randomUUID(); // member of A
const bob = randomUUID(); // member of B
const mallory = randomUUID(); // member of nothing
let projectOfB: string;
let app: INestApplication;

const as = (id: string, orgId: string) => ({ 'x-user': JSON.stringify({ id, orgId }) });

beforeAll(async () => {
  // Fixtures as the owner (DIRECT_URL): the app itself only ever connects as app_runtime.
  const owner = new Client({ connectionString: env('DIRECT_URL') });
  await owner.connect();
  try {
    await owner.query(`INSERT INTO organizations (id, name) VALUES ($1, 'A'), ($2, 'B')`, [
      orgA,
      orgB,
    ]);
    await owner.query(`INSERT INTO users (id, email) VALUES ($1, $4), ($2, $5), ($3, $6)`, [
      alice,
      bob,
      mallory,
      `alice-${alice}@example.com`,
      `bob-${bob}@example.com`,
      `mallory-${mallory}@example.com`,
    ]);
    await owner.query(`INSERT INTO memberships (org_id, user_id) VALUES ($1, $2), ($3, $4)`, [
      orgA,
      alice,
      orgB,
      bob,
    ]);
    const { rows } = await owner.query<{ id: string }>(
      `INSERT INTO projects (org_id, name) VALUES ($1, 'B secret') RETURNING id`,
      [orgB],
    );
    projectOfB = rows[0].id;
  } finally {
    await owner.end();
  }

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: ['fatal'] });
  await app.init();
});

afterAll(async () => {
  await app?.close();
});

describe('ProjectsController (@TenantScoped, the example guard, the installed library)', () => {
  it('a member of A creates and lists projects in A only', async () => {
    const created = await request(app.getHttpServer())
      .post('/projects')
      .set(as(alice, orgA))
      .send({ name: 'A launch' })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'A launch', orgId: orgA });

    const list = await request(app.getHttpServer())
      .get('/projects')
      .set(as(alice, orgA))
      .expect(200);
    expect(list.body.map((p: { name: string }) => p.name)).toEqual(['A launch']);
    expect(list.body.every((p: { orgId: string }) => p.orgId === orgA)).toBe(true);

    await request(app.getHttpServer())
      .get(`/projects/${created.body.id}`)
      .set(as(alice, orgA))
      .expect(200);
  });

  it("B's project reads 404 from A", async () => {
    await request(app.getHttpServer())
      .get(`/projects/${projectOfB}`)
      .set(as(alice, orgA))
      .expect(404);
    await request(app.getHttpServer())
      .get(`/projects/${projectOfB}`)
      .set(as(bob, orgB))
      .expect(200);
  });

  it('no user: 401', async () => {
    await request(app.getHttpServer()).get('/projects').expect(401);
  });

  it('a user who is not a member of the organization: 403', async () => {
    await request(app.getHttpServer()).get('/projects').set(as(mallory, orgA)).expect(403);
    // Claiming another organization does not help a member of A either.
    await request(app.getHttpServer()).get('/projects').set(as(alice, orgB)).expect(403);
  });
});

describe("the isolation kit takes the app's client and options from AppModule", () => {
  it("@prisma/client's default client (if any resolves here) is not the example's schema", () => {
    // run-example.sh generates src/generated/prisma only. What `@prisma/client` resolves to here is
    // the ungenerated stub, or, inside the library's repository, the demo's client (Node looks up
    // the parent folders): neither has Organization, so the models below come from AppModule's
    // client, not from @prisma/client.
    let defaultModels: string[] = [];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const loaded = require('@prisma/client') as { Prisma?: { ModelName?: object } };
      defaultModels = Object.keys(loaded.Prisma?.ModelName ?? {});
    } catch {
      // not generated at all
    }
    expect(defaultModels).not.toContain('Organization');
  });

  it('lists the tenant models of the custom-output client, with tenantField orgId from AppModule', () => {
    expect(isolationModelsOf({ module: AppModule })).toEqual([
      'Membership',
      'Project',
      'Task',
      'Comment',
    ]);
  });
});

// Client class (src/generated/prisma), tenantField, tenantRootModel, url, systemUrl and
// settingSecret: all from AppModule's PrismaModule.forRoot(); the tenant client from the app.
describeTenantIsolation({
  name: 'tenant isolation of the example (every tenant-owned model)',
  module: AppModule,
  app: () => app,
});
