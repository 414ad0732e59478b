import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrismaSchema } from './prisma-schema.parser';
import { describeTenancy, DEFAULT_TENANCY_NAMES } from './tenant-schema';

const DEMO_SCHEMA = readFileSync(join(__dirname, '../../../../prisma/schema.prisma'), 'utf8');

describe('parsePrismaSchema', () => {
  it('reads models, tables, columns, keys, defaults and relation keys', () => {
    const models = parsePrismaSchema(`
      // model Commented { id Int @id }
      enum Role {
        A
        @@map("role")
      }
      model Thing {
        id      String  @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
        orgId   String  @default(dbgenerated("current_workspace_id()")) @map("org_id") @db.Uuid // tenant
        url     String  @default("http://x//y")
        tags    String[]
        parentId String? @map("parent_id")
        parent  Thing?  @relation("Tree", fields: [orgId, parentId], references: [orgId, id], onDelete: Cascade)
        children Thing[] @relation("Tree")

        @@unique([orgId, id])
        @@index([orgId, url(sort: Desc)])
        @@map("things")
      }
      model Pair {
        a String
        b String @unique
        @@id([a, b])
      }
    `);
    expect(models.map((m) => [m.name, m.table, m.primaryKey])).toEqual([
      ['Thing', 'things', ['id']],
      ['Pair', 'Pair', ['a', 'b']],
    ]);
    const [thing, pair] = models;
    expect(thing.uniques).toEqual([['orgId', 'id']]);
    expect(thing.indexes).toEqual([['orgId', 'url']]);
    expect(pair.uniques).toEqual([['b']]);
    const field = (name: string) => thing.fields.find((f) => f.name === name);
    expect(field('orgId')).toMatchObject({
      column: 'org_id',
      defaultValue: 'dbgenerated("current_workspace_id()")',
      isOptional: false,
    });
    expect(field('url')).toMatchObject({ defaultValue: '"http://x//y"' });
    expect(field('tags')).toMatchObject({ type: 'String', isList: true });
    expect(field('parent')).toMatchObject({
      type: 'Thing',
      isOptional: true,
      relationFields: ['orgId', 'parentId'],
      relationReferences: ['orgId', 'id'],
    });
    expect(field('children')).toMatchObject({ isList: true, relationFields: [] });
  });

  it("sorts the demo schema's models into root, tenant-owned and identity models", () => {
    const layout = describeTenancy(parsePrismaSchema(DEMO_SCHEMA), DEFAULT_TENANCY_NAMES);
    expect(layout.root?.table).toBe('workspaces');
    expect(layout.user?.table).toBe('users');
    expect(layout.tenantModels.map((m) => m.table)).toEqual([
      'workspace_members',
      'workspace_invitations',
      'api_keys',
      'ai_provider_configs',
      'projects',
      'approval_items',
      'approval_comments',
      'webhooks',
      'webhook_deliveries',
      'audit_logs',
    ]);
    expect(layout.membership).toMatchObject({
      userColumn: 'user_id',
      tenantColumn: 'workspace_id',
    });
    expect(layout.membership?.model.name).toBe('WorkspaceMember');
    expect(layout.userOwned.map((m) => m.name)).toEqual(['Account', 'Session']);
    expect(layout.adminOnly.map((m) => m.name)).toEqual(['VerificationToken']);
  });
});
