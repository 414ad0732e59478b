import { Prisma } from '@prisma/client';

/**
 * The tables Row-Level Security must cover, derived from the Prisma schema the same way the rest of
 * the project does: every model with a `workspaceId` field, plus the tenant root `workspaces`. A new
 * tenant-owned model is therefore checked without being listed anywhere.
 */
export function tenantTables(): string[] {
  const owned = Prisma.dmmf.datamodel.models
    .filter((model) => model.fields.some((field) => field.name === 'workspaceId'))
    .map((model) => model.dbName ?? model.name);
  return ['workspaces', ...owned];
}
