/**
 * `nest-prisma-tenancy/prisma`: helpers for the Prisma CLI (never used by the app at run time).
 *
 * @example prisma.config.ts
 * import { defineConfig } from 'prisma/config';
 * import { createMigrateAdapter } from 'nest-prisma-tenancy/prisma';
 *
 * export default defineConfig({
 *   experimental: { adapter: true },
 *   engine: 'js',
 *   schema: 'prisma/schema.prisma',
 *   adapter: async () => createMigrateAdapter(process.env.DIRECT_URL!),
 * });
 */
export { createMigrateAdapter, toPoolConfig } from './migrate-adapter';
