import { TenancyError } from './tenancy.error';

/** The installed Prisma Client does not have the internals the tenant batching guard relies on. */
export class UnsupportedPrismaVersionError extends TenancyError {
  constructor(detail: string) {
    super(
      `This Prisma Client version is not supported by the tenancy layer (${detail}). Install ` +
        `@prisma/client and prisma 6.19.x, the versions this library is tested with.`,
    );
  }
}
