import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseOptions } from './cli-arguments';
import { generateRlsMigration } from './rls-migration.generator';
import { readSchema } from './schema-file';
import { SQL_NAME_OPTIONS, SQL_NAME_USAGE, sqlNamesOf } from './sql-name-flags';
import { UsageError } from './usage.error';

export const RLS_GENERATE_HELP = `Usage: nest-prisma-tenancy rls generate [options]

Writes the SQL of the Row-Level Security migration for the tenant models of a Prisma schema:
roles, grants, the signed tenant setting's verifier, policies, tenant column defaults, immutable
keys, user-reference checks, identity-table policies. Idempotent: generate and apply it again
after adding a model. Every SQL object gets its configured name (--sql-* below): configure the app
with the same names (PrismaModule option sql).

Options:
  --schema <file>          Prisma schema (default prisma/schema.prisma)
  --tenant-field <name>    tenant field of tenant-owned models (default workspaceId)
  --root-model <name>      tenant root model, keyed on its id (default Workspace)
  --runtime-role <name>    same as --sql-runtime-role
  --admin-role <name>      same as --sql-admin-role
  --out <file>             write the SQL to this file (default: standard output)
  --migration <name>       write it as <migrations-dir>/<timestamp>_<name>/migration.sql
  --migrations-dir <dir>   Prisma migrations folder (default prisma/migrations)
  -h, --help               show this help

${SQL_NAME_USAGE}`;

/** Prisma's migration folder timestamp: YYYYMMDDHHMMSS, UTC. */
export function migrationTimestamp(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** `nest-prisma-tenancy rls generate`: writes the migration; returns the exit status. */
export function rlsGenerate(args: readonly string[], out: (text: string) => void): number {
  const options = parseOptions('rls generate', args, {
    schema: { type: 'string', default: 'prisma/schema.prisma' },
    'tenant-field': { type: 'string' },
    'root-model': { type: 'string' },
    'runtime-role': { type: 'string' },
    'admin-role': { type: 'string' },
    out: { type: 'string' },
    migration: { type: 'string' },
    'migrations-dir': { type: 'string', default: 'prisma/migrations' },
    ...SQL_NAME_OPTIONS,
  });
  const sql = sqlNamesOf(options);
  for (const [alias, option] of [
    ['runtime-role', 'runtimeRole'],
    ['admin-role', 'adminRole'],
  ] as const) {
    const value = options[alias];
    if (value === undefined) continue;
    if (sql[option] !== undefined && sql[option] !== value) {
      throw new UsageError(`rls generate: --${alias} and --sql-${alias} disagree; give one`);
    }
    sql[option] = value;
  }
  if (options.out !== undefined && options.migration !== undefined) {
    throw new UsageError('rls generate: give --out or --migration, not both');
  }
  if (options.migration !== undefined && !/^[A-Za-z0-9_]+$/.test(options.migration)) {
    throw new UsageError(
      `rls generate: --migration "${options.migration}" may only hold letters, digits and _`,
    );
  }
  const text = generateRlsMigration(readSchema(options.schema as string, readFileSync), {
    tenantField: options['tenant-field'],
    rootModel: options['root-model'],
    sql,
  });
  const file =
    options.migration !== undefined
      ? join(
          options['migrations-dir'] as string,
          `${migrationTimestamp()}_${options.migration}`,
          'migration.sql',
        )
      : options.out;
  if (file === undefined) {
    out(text);
    return 0;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  out(`Wrote ${file}\n`);
  return 0;
}
