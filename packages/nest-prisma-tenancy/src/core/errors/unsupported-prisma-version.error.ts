import { TenancyError } from './tenancy.error';

/** The Prisma Client versions this library supports, as its peer dependency range says. */
export const SUPPORTED_PRISMA_VERSIONS = '^6.19.0 || ^7.0.0';

/**
 * The app's Prisma Client is outside the supported range (Prisma 6.19 and later 6.x, or 7.x), or
 * lacks the internals the tenancy layer relies on. Thrown at start-up, before any query.
 */
export class UnsupportedPrismaVersionError extends TenancyError {
  constructor(detail: string) {
    super(
      `This Prisma Client is not supported by nest-prisma-tenancy (${detail}). Install ` +
        `@prisma/client and prisma ${SUPPORTED_PRISMA_VERSIONS} (6.19.x or 7.x, the versions this ` +
        `library is tested with) and run \`prisma generate\`.`,
    );
  }
}

/** True for a Prisma Client version in the supported range: 6.19 or later 6.x, or 7.x. */
export function isSupportedPrismaVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\./.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return (major === 6 && minor >= 19) || major === 7;
}
