import { parseArgs } from 'node:util';
import { UsageError } from './usage.error';

/** A command's option: a string value, or a flag. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; default?: string }>;

/**
 * Parses a command's options (`--name value` or `--name=value`) with node's parseArgs, strictly:
 * an unknown option, a missing value or a stray positional argument is a UsageError.
 */
export function parseOptions<T extends OptionSpec>(
  command: string,
  args: readonly string[],
  spec: T,
): { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean | undefined : string | undefined } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: spec,
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) {
      throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`);
    }
    return values as never;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(`${command}: ${unknown ? `unknown option ${unknown}` : message}`);
  }
}
