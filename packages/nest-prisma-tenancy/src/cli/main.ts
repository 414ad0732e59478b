#!/usr/bin/env node
/**
 * The `nest-prisma-tenancy` command: `rls generate` writes the Row-Level Security migration for a
 * Prisma schema; `check` lints the schema and proves isolation on a live database.
 */
import { runCli } from './cli';

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`nest-prisma-tenancy: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
