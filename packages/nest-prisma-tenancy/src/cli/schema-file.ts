import { UsageError } from './usage.error';

/** Reads the schema file, or fails with a UsageError naming it. */
export function readSchema(path: string, read: (path: string, encoding: 'utf8') => string): string {
  try {
    return read(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the Prisma schema ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass --schema <file>`,
    );
  }
}
