import { readFileSync } from 'node:fs';
import { parseOptions } from './cli-arguments';
import { checkDatabase } from './database-check';
import { readSchema } from './schema-file';
import { lintSchema } from './schema-lint';
import {
  SQL_NAME_OPTIONS,
  SQL_NAME_USAGE,
  resolveSqlNameFlags,
  sqlNamesOf,
} from './sql-name-flags';

export const CHECK_HELP = `Usage: nest-prisma-tenancy check [options]

Lints the Prisma schema's tenancy rules (composite foreign keys between tenant models, an index
leading with the tenant field, the tenant column default, no to-one relation from a global model
into a tenant model) and, with a database URL, proves on the live database that Row-Level
Security isolates tenants (the library's start-up check, as the runtime role, rolled back).
Prints one line per problem; exits 1 when there is any, 0 otherwise, 2 on usage errors. Give the
--sql-* names the RLS migration was generated with (rls generate's): the check looks for exactly
these, and names each one the database has otherwise.

Options:
  --schema <file>           Prisma schema (default prisma/schema.prisma)
  --tenant-field <name>     tenant field (default workspaceId)
  --root-model <name>       tenant root model (default Workspace)
  --database-url <url>      runtime role's URL (default DATABASE_URL; none: schema only)
  --setting-secret <secret> tenant setting secret (default TENANT_SETTING_SECRET)
  --schema-only             do not check a database
  -h, --help                show this help

${SQL_NAME_USAGE}`;

/** Where `check` writes. */
export interface CheckOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** `nest-prisma-tenancy check`: prints each problem; returns the exit status. */
export async function check(
  args: readonly string[],
  io: CheckOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const options = parseOptions('check', args, {
    schema: { type: 'string', default: 'prisma/schema.prisma' },
    'tenant-field': { type: 'string' },
    'root-model': { type: 'string' },
    'database-url': { type: 'string' },
    'setting-secret': { type: 'string' },
    'schema-only': { type: 'boolean' },
    ...SQL_NAME_OPTIONS,
  });
  const sql = resolveSqlNameFlags(sqlNamesOf(options));
  const schemaPath = options.schema as string;
  const schemaText = readSchema(schemaPath, readFileSync);
  const problems = lintSchema(schemaText, {
    tenantField: options['tenant-field'],
    rootModel: options['root-model'],
    sql,
  }).map((problem) => `${schemaPath}: ${problem}`);
  const url = options['schema-only'] ? undefined : (options['database-url'] ?? env.DATABASE_URL);
  if (url) {
    try {
      const result = await checkDatabase({
        url,
        schemaText,
        settingSecret: options['setting-secret'] ?? env.TENANT_SETTING_SECRET,
        tenantField: options['tenant-field'],
        tenantRootModel: options['root-model'],
        sql,
      });
      problems.push(...result.problems.map((problem) => `database: ${problem}`));
      for (const warning of result.warnings) io.err(`warning: ${warning}\n`);
    } catch (error) {
      if ((error as Error).name === 'UsageError') throw error;
      problems.push(`database: cannot check: ${(error as Error).message}`);
    }
  }
  for (const problem of problems) io.out(`${problem.replace(/\s*\n\s*/g, ' ')}\n`);
  return problems.length > 0 ? 1 : 0;
}
