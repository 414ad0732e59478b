/** Thrown when `prisma migrate deploy` fails while preparing a database. */
export class MigrationFailedError extends Error {
  override name = 'MigrationFailedError';

  constructor(prismaOutput: string) {
    super(
      `Applying the migrations failed. Prisma said:\n${prismaOutput.trim()}\n` +
        `Inspect the state with: npm run db:status (and fix a failed migration with ` +
        `npx prisma migrate resolve, see https://pris.ly/d/migrate-resolve).`,
    );
  }
}
