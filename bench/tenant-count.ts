/**
 * Flat in tenant count: the same primary-key lookup with 1, 100 and 10,000 workspaces in the
 * database. Per level: 10 callers in workspace 0 (the main lookup), and 1 caller cycling over every
 * workspace (each call in another workspace: the library's per-tenant state, e.g. its cache of
 * signed settings, sees as many tenants as the database holds), each beside plain Prisma reading
 * the same ids.
 */
import { runInTenant } from 'nest-prisma-tenancy';
import type {
  BenchClients,
  ClientBenchSettings,
  ClientCase,
  ClientCaseResult,
} from './client-bench';
import { runClientBench } from './client-bench';
import type { PostgresCpuProbe } from './cpu';
import type { LightWorkspace, SeededWorkspace } from './database';

/** One workspace and one of its items. */
export type Target = LightWorkspace;

/** Results at one tenant count. */
export interface TenantCountLevel {
  workspaces: number;
  results: ClientCaseResult[];
}

function found<T>(row: T | null | undefined): T {
  if (row === null || row === undefined) throw new Error('row not found');
  return row;
}

/** The four cases at one level. */
export function tenantCountCases(
  clients: BenchClients,
  same: SeededWorkspace,
  targets: Target[],
): ClientCase[] {
  const { plain, tenant } = clients;
  const ids = same.itemIds;
  const pick = (caller: number, n: number) => ids[(caller * 101 + n * 37) % ids.length];
  const target = (n: number) => targets[n % targets.length];
  return [
    {
      key: 'pk/plain/c10',
      group: 'pk',
      path: 'plain',
      label: 'plain Prisma findUnique({ workspaceId_id }), workspace 0',
      concurrency: 10,
      main: true,
      op: async (i, n) =>
        found(
          await plain.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: same.id, id: pick(i, n) } },
          }),
        ),
    },
    {
      key: 'pk/tenant/c10',
      group: 'pk',
      path: 'tenant',
      label: 'tenant client findUnique, workspace 0',
      concurrency: 10,
      main: true,
      op: (i, n) =>
        runInTenant(same.id, async () =>
          found(await tenant.approvalItem.findUnique({ where: { id: pick(i, n) } })),
        ),
    },
    {
      key: 'pk/plain-cycle/c1',
      group: 'pk',
      path: 'plain-cycle',
      label: 'plain Prisma findUnique, 1 caller, next workspace each call',
      concurrency: 1,
      main: true,
      op: async (_i, n) =>
        found(
          await plain.approvalItem.findUnique({
            where: { workspaceId_id: { workspaceId: target(n).id, id: target(n).itemId } },
          }),
        ),
    },
    {
      key: 'pk/tenant-cycle/c1',
      group: 'pk',
      path: 'tenant-cycle',
      label: 'tenant client findUnique, 1 caller, next workspace each call',
      concurrency: 1,
      main: true,
      op: (_i, n) =>
        runInTenant(target(n).id, async () =>
          found(await tenant.approvalItem.findUnique({ where: { id: target(n).itemId } })),
        ),
    },
  ];
}

/** Runs the four cases at the current tenant count. */
export async function runTenantCountLevel(
  clients: BenchClients,
  same: SeededWorkspace,
  targets: Target[],
  settings: ClientBenchSettings,
  postgres: PostgresCpuProbe | undefined,
  log: (line: string) => void,
): Promise<TenantCountLevel> {
  log(`tenant count: ${targets.length} workspaces`);
  const results = await runClientBench(
    tenantCountCases(clients, same, targets),
    settings,
    postgres,
    log,
  );
  return { workspaces: targets.length, results };
}
