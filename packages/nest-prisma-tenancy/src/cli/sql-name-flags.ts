import { InvalidPrismaModuleOptionsError } from '../core/errors/invalid-prisma-module-options.error';
import { sqlNameFlag } from '../core/errors/sql-names-mismatch.error';
import {
  DEFAULT_SQL_NAMES,
  resolveSqlNames,
  type TenancySqlNames,
  type TenancySqlNamesOptions,
} from '../core/sql/tenancy-sql-names';
import type { OptionSpec } from './cli-arguments';
import { UsageError } from './usage.error';

const OPTIONS = Object.keys(DEFAULT_SQL_NAMES) as (keyof TenancySqlNames)[];

/** What each `--sql-*` flag names, for the usage text. */
const MEANING: Record<keyof TenancySqlNames, string> = {
  functionSchema: 'schema of the tenancy functions',
  setting: 'custom setting that carries the signed claim',
  tenantFunction: 'function returning the current tenant id',
  userFunction: 'function returning the current user id',
  claimFunction: 'function verifying the signed claim',
  installKeyFunction: 'function installing the setting key',
  enableFunction: "function enabling a table's policies",
  privateSchema: 'schema of the setting key',
  runtimeRole: "the app's database role",
  adminRole: "the system client's role",
};

/** The `--sql-*` options, one per TenancySqlNamesOptions name (`--sql-function-schema`, ...). */
export const SQL_NAME_OPTIONS: OptionSpec = Object.fromEntries(
  OPTIONS.map((option) => [sqlNameFlag(option).slice(2), { type: 'string' as const }]),
);

/** The usage lines of the `--sql-*` options, with their defaults. */
export const SQL_NAME_USAGE = [
  'SQL names (the same for rls generate, check and the PrismaModule option sql):',
  ...OPTIONS.map((option) => {
    const flag = `${sqlNameFlag(option)} <name>`;
    return `  ${flag.padEnd(34)} ${MEANING[option]} (default ${DEFAULT_SQL_NAMES[option]})`;
  }),
].join('\n');

/** The `--sql-*` values given, as TenancySqlNamesOptions. */
export function sqlNamesOf(values: Record<string, unknown>): TenancySqlNamesOptions {
  const names: TenancySqlNamesOptions = {};
  for (const option of OPTIONS) {
    const value = values[sqlNameFlag(option).slice(2)];
    if (typeof value === 'string') names[option] = value;
  }
  return names;
}

/**
 * resolveSqlNames for the command line: a bad name is a UsageError that names its `--sql-*` flag
 * instead of the `sql.*` option.
 */
export function resolveSqlNameFlags(names: TenancySqlNamesOptions): TenancySqlNames {
  try {
    return resolveSqlNames(names);
  } catch (error) {
    if (!(error instanceof InvalidPrismaModuleOptionsError)) throw error;
    throw new UsageError(
      error.message.replace(/\bsql\.([A-Za-z]+)/g, (_, option: string) => sqlNameFlag(option)),
    );
  }
}
