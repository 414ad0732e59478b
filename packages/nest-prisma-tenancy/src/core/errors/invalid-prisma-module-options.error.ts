/** Thrown when PrismaModule options are unusable, naming the option and how to fix it. */
export class InvalidPrismaModuleOptionsError extends Error {
  override name = 'InvalidPrismaModuleOptionsError';
}
