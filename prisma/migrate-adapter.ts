// The Prisma CLI's migrate-only driver adapter now ships in the library
// (packages/nest-prisma-tenancy/src/prisma-cli/migrate-adapter.ts, `nest-prisma-tenancy/prisma`);
// kept here so that existing imports of './prisma/migrate-adapter' keep working.
export { createMigrateAdapter, toPoolConfig } from 'nest-prisma-tenancy/prisma';
