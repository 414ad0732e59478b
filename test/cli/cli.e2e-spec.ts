import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../../src/database/project-root';

const MAIN = join(PROJECT_ROOT, 'packages/nest-prisma-tenancy/src/cli/main.ts');
const TSX = join(PROJECT_ROOT, 'node_modules/.bin/tsx');
const MIGRATIONS = join(PROJECT_ROOT, 'prisma/migrations');
const SCHEMA = readFileSync(join(PROJECT_ROOT, 'prisma/schema.prisma'), 'utf8');
const CLI_TIMEOUT = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from its TypeScript source, as `npx tsx .../main.ts <args>`, in the project root. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { cwd: PROJECT_ROOT, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The URL of `database` on the server of `base` (same role). */
function onDatabase(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

async function asOwner(database: string, sql: string): Promise<void> {
  const client = new pg.Client({
    connectionString: onDatabase(process.env.DIRECT_URL as string, database),
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('nest-prisma-tenancy CLI', () => {
  const scratch = `cli_scratch_${process.pid}`;
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'nest-prisma-tenancy-cli-'));
  });

  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await asOwner(
      'postgres',
      `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(scratch)} WITH (FORCE)`,
    );
  });

  describe('rls generate', () => {
    it(
      "writes the demo schema's migration to standard output",
      async () => {
        const { code, stdout, stderr } = await cli(['rls', 'generate']);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        expect(stdout).toMatch(/^-- Row-Level Security for the tenant models of this schema/);
        expect(stdout).toContain("SELECT public.enable_tenant_rls('public.workspaces', 'id');");
        expect(stdout).toContain("SELECT public.enable_tenant_rls('public.audit_logs');");
      },
      CLI_TIMEOUT,
    );

    it(
      'writes it as a Prisma migration with --migration',
      async () => {
        const dir = join(folder, 'migrations');
        const { code, stdout } = await cli([
          'rls',
          'generate',
          '--migration',
          'tenant_rls',
          '--migrations-dir',
          dir,
          '--runtime-role',
          'web',
        ]);
        const [name] = readdirSync(dir);
        expect(name).toMatch(/^\d{14}_tenant_rls$/);
        expect({ code, stdout }).toEqual({
          code: 0,
          stdout: `Wrote ${join(dir, name, 'migration.sql')}\n`,
        });
        expect(readFileSync(join(dir, name, 'migration.sql'), 'utf8')).toContain(
          'GRANT USAGE ON SCHEMA public TO web, app_admin;',
        );
      },
      CLI_TIMEOUT,
    );

    it(
      'exits 2 with a message on usage errors',
      async () => {
        await expect(
          cli(['rls', 'generate', '--schema', join(folder, 'none.prisma')]),
        ).resolves.toEqual({
          code: 2,
          stdout: '',
          stderr:
            `nest-prisma-tenancy: cannot read the Prisma schema ${join(folder, 'none.prisma')} (ENOENT); pass --schema <file>\n` +
            'Run nest-prisma-tenancy --help for usage.\n',
        });
        await expect(cli(['check', '--bogus'])).resolves.toEqual({
          code: 2,
          stdout: '',
          stderr:
            'nest-prisma-tenancy: check: unknown option --bogus\nRun nest-prisma-tenancy --help for usage.\n',
        });
        const help = await cli(['--help']);
        expect(help.code).toBe(0);
        expect(help.stdout).toMatch(/^Usage: nest-prisma-tenancy <command> \[options\]/);
      },
      CLI_TIMEOUT,
    );
  });

  describe('check', () => {
    it(
      "passes on this run's migrated test database (DATABASE_URL)",
      async () => {
        await expect(cli(['check'])).resolves.toEqual({ code: 0, stdout: '', stderr: '' });
      },
      CLI_TIMEOUT,
    );

    it(
      "checks the database against --schema's tenant models",
      async () => {
        const schema = join(folder, 'extra-model.prisma');
        writeFileSync(
          schema,
          `${SCHEMA}
model Extra {
  id          String    @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  workspaceId String    @default(dbgenerated("current_workspace_id()")) @map("workspace_id") @db.Uuid
  workspace   Workspace @relation(fields: [workspaceId], references: [id], onDelete: Cascade, onUpdate: Restrict)

  @@unique([workspaceId, id])
  @@map("extras")
}
`,
        );
        const { code, stdout, stderr } = await cli(['check', '--schema', schema]);
        expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
        expect(stdout).toMatch(/^database: table public\.extras does not exist\b.*\n$/);
      },
      CLI_TIMEOUT,
    );

    it(
      'names a plain foreign key between tenant models',
      async () => {
        const schema = join(folder, 'plain-fk.prisma');
        writeFileSync(
          schema,
          SCHEMA.replace(
            'fields: [workspaceId, projectId], references: [workspaceId, id]',
            'fields: [projectId], references: [id]',
          ),
        );
        await expect(cli(['check', '--schema', schema, '--schema-only'])).resolves.toEqual({
          code: 1,
          stdout:
            `${schema}: ApprovalItem.project: plain foreign key (projectId) -> Project(id) between tenant models; ` +
            'make it composite: fields: [workspaceId, projectId], references: [workspaceId, id] ' +
            '(and @@unique([workspaceId, id]) on Project)\n',
          stderr: '',
        });
      },
      CLI_TIMEOUT,
    );

    it(
      'names a table whose Row-Level Security is disabled',
      async () => {
        await asOwner(
          'postgres',
          `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(scratch)} WITH (FORCE)`,
        );
        await asOwner('postgres', `CREATE DATABASE ${pg.escapeIdentifier(scratch)}`);
        for (const name of readdirSync(MIGRATIONS, { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => entry.name)
          .sort()) {
          await asOwner(scratch, readFileSync(join(MIGRATIONS, name, 'migration.sql'), 'utf8'));
        }
        await asOwner(scratch, 'ALTER TABLE public.projects DISABLE ROW LEVEL SECURITY');
        const url = onDatabase(process.env.DATABASE_URL as string, scratch);
        const { code, stdout, stderr } = await cli(['check', '--database-url', url]);
        expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
        // The catalog's line, then the behaviour proof's (its wording belongs to the verifier).
        const [catalog, behaviour, ...rest] = stdout.split('\n');
        expect(catalog).toBe(
          "database: table public.projects does not have Row-Level Security enabled: SELECT public.enable_tenant_rls('public.projects')",
        );
        expect(behaviour).toMatch(
          /^database: table public\.projects did not refuse a row for another (workspace|tenant): INSERT of workspace_id = .* failed with 23502 .*SELECT public\.enable_tenant_rls\('public\.projects'\)$/,
        );
        expect(rest).toEqual(['']);
      },
      CLI_TIMEOUT,
    );
  });
});
