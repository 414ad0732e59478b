import type { SqlNameMismatch } from '../sql/tenancy-sql-names.check';
import { describeSqlNameMismatch } from '../sql/tenancy-sql-names.check';
import { TenancyError } from './tenancy.error';

/** The CLI flag of a TenancySqlNamesOptions option: `functionSchema` → `--sql-function-schema`. */
export function sqlNameFlag(option: string): string {
  return `--sql-${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The database's Row-Level Security migration was generated with other SQL names (setting,
 * functions, schemas, roles) than the app is configured with, so PostgreSQL would never see the
 * app's tenant setting, or the app would call functions that do not exist.
 */
export class SqlNamesMismatchError extends TenancyError {
  constructor(readonly mismatches: SqlNameMismatch[]) {
    const options = mismatches.map((m) => `${m.option}: '${m.database}'`).join(', ');
    const flags = mismatches.map((m) => `${sqlNameFlag(m.option)} ${m.database}`).join(' ');
    super(
      `The database's Row-Level Security objects have other names than this app is configured with:\n` +
        mismatches.map((m) => `  - ${describeSqlNameMismatch(m)}`).join('\n') +
        `\nConfigure the names the migration was generated with (PrismaModule.forRoot()/forRootAsync() ` +
        `option sql: { ${options} }; for the CLI: ${flags}), or generate the migration again with ` +
        `this app's names (nest-prisma-tenancy rls generate) and apply it.`,
    );
  }
}
