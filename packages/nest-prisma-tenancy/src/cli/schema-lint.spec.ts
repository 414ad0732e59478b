import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lintSchema } from './schema-lint';

const DEMO_SCHEMA = readFileSync(join(__dirname, '../../../../prisma/schema.prisma'), 'utf8');

const SCHEMA = `
model Workspace {
  id       String    @id @db.Uuid
  projects Project[]
  tasks    Task[]
}
model Project {
  id          String @id @db.Uuid
  workspaceId String @default(dbgenerated("current_workspace_id()")) @map("workspace_id") @db.Uuid
  workspace   Workspace @relation(fields: [workspaceId], references: [id])
  tasks       Task[]
  @@unique([workspaceId, id])
}
model Task {
  id          String  @id @db.Uuid
  workspaceId String  @map("workspace_id") @db.Uuid
  projectId   String  @map("project_id") @db.Uuid
  workspace   Workspace @relation(fields: [workspaceId], references: [id])
  project     Project @relation(fields: [projectId], references: [id])
  @@index([projectId])
}
model Setting {
  id        String  @id
  projectId String
  project   Project @relation(fields: [projectId], references: [id])
}
`;

describe('lintSchema', () => {
  it('finds nothing in the demo schema', () => {
    expect(lintSchema(DEMO_SCHEMA)).toEqual([]);
  });

  it('names each broken rule with its fix, in schema order', () => {
    expect(lintSchema(SCHEMA)).toEqual([
      'Task.project: plain foreign key (projectId) -> Project(id) between tenant models; make it composite: fields: [workspaceId, projectId], references: [workspaceId, id] (and @@unique([workspaceId, id]) on Project)',
      'Task: no index leads with workspaceId; add @@index([workspaceId, ...]) or @@unique([workspaceId, id])',
      'Task.workspaceId: no tenant default; add @default(dbgenerated("current_workspace_id()"))',
      'Setting.project: to-one relation from the global model Setting into the tenant model Project; make Setting tenant-owned (add workspaceId) or turn the relation around',
    ]);
  });

  it('uses the configured tenant field and root', () => {
    expect(lintSchema(SCHEMA, { tenantField: 'orgId', rootModel: 'Org' })).toEqual([
      'schema: no model has the tenant field "orgId"',
      'schema: no tenant root model "Org"',
    ]);
  });

  it('wants the default that calls the configured tenant function, schema-qualified unless public', () => {
    const custom = { sql: { functionSchema: 'tenancy', tenantFunction: 'current_org_id' } };
    const lines = lintSchema(DEMO_SCHEMA, custom);
    expect(lines).toHaveLength(10);
    expect(
      lines.every((line) => line.endsWith('add @default(dbgenerated("tenancy.current_org_id()"))')),
    ).toBe(true);
    expect(
      lintSchema(
        DEMO_SCHEMA.replace(
          /dbgenerated\("current_workspace_id\(\)"\)/g,
          'dbgenerated("tenancy.current_org_id()")',
        ),
        custom,
      ),
    ).toEqual([]);
    expect(
      lintSchema(
        DEMO_SCHEMA.replace(
          /dbgenerated\("current_workspace_id\(\)"\)/g,
          'dbgenerated("public.current_org_id()")',
        ),
        { sql: { tenantFunction: 'current_org_id' } },
      ),
    ).toEqual([]);
  });
});
