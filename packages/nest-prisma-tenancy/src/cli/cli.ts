import { CHECK_HELP, check, type CheckOutput } from './check.command';
import { RLS_GENERATE_HELP, rlsGenerate } from './rls-generate.command';
import { UsageError } from './usage.error';

export const HELP = `Usage: nest-prisma-tenancy <command> [options]

Commands:
  rls generate   write the Row-Level Security migration for a Prisma schema
  check          lint the schema and prove Row-Level Security on a live database

Run nest-prisma-tenancy <command> --help for its options.`;

const wantsHelp = (args: readonly string[]) => args.includes('--help') || args.includes('-h');

/**
 * Runs the command line `args` (without `node` and the script) and returns the exit status:
 * 0 (done, no problem), 1 (problems found), 2 (usage error, with a message on `err`).
 */
export async function runCli(
  args: readonly string[],
  io: CheckOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'rls') {
      const [sub, ...options] = rest;
      if (sub === 'generate') {
        if (wantsHelp(options)) return help(io, RLS_GENERATE_HELP);
        return rlsGenerate(options, io.out);
      }
      if (sub === undefined || wantsHelp(rest)) return help(io, RLS_GENERATE_HELP);
      throw new UsageError(`unknown command "rls ${sub}"; did you mean "rls generate"?`);
    }
    if (command === 'check') {
      if (wantsHelp(rest)) return help(io, CHECK_HELP);
      return await check(rest, io, env);
    }
    if (command === undefined || command === 'help' || wantsHelp(args)) return help(io, HELP);
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`nest-prisma-tenancy: ${error.message}\nRun nest-prisma-tenancy --help for usage.\n`);
    return 2;
  }
}

function help(io: CheckOutput, text: string): number {
  io.out(`${text}\n`);
  return 0;
}
