/**
 * The peers' mechanisms, reproduced (not their code) over the same database, role, policies and
 * signed setting as the tenant client, so that only the way the setting travels differs.
 *
 * - `rls-batch`: the official Prisma Row-Level Security example
 *   (prisma/prisma-client-extensions `row-level-security`): a query extension that runs every
 *   query as a batch transaction `$transaction([SELECT set_config(..., true), query])`. Prisma
 *   sends BEGIN, the setting, the query and COMMIT as separate round trips.
 * - `itx`: the interactive-transaction-per-query libraries: `$transaction(async (tx) => { set_config;
 *   query })`, i.e. BEGIN / set_config / query / COMMIT, each awaited in turn.
 *
 * Both read the workspace from the library's tenant context (`runInTenant`), as the peers read it
 * from theirs, and sign it with the same signer (cached per workspace), because the policies accept
 * only a signed value.
 */
import { PrismaClient } from '@prisma/client';
import { tenantContext } from 'nest-prisma-tenancy';
import { benchSigner } from './database';

/** The setting the policies read (DEFAULT_SQL_NAMES of the library). */
const SETTING = 'app.workspace_id';

function signedSetting(): string {
  const tenantId = tenantContext.getTenantId();
  if (!tenantId) throw new Error('peer mechanism called outside runInTenant');
  return signer().sign(tenantId, tenantContext.getUserId());
}

let cachedSigner: ReturnType<typeof benchSigner> | undefined;
function signer(): ReturnType<typeof benchSigner> {
  cachedSigner ??= benchSigner();
  return cachedSigner;
}

/** Prisma's client property of a model: `ApprovalItem` → `approvalItem`. */
const delegateOf = (model: string) => model.charAt(0).toLowerCase() + model.slice(1);

/** The official RLS extension's mechanism: a batch transaction per query. */
export function withRlsBatchTransaction(base: PrismaClient): PrismaClient {
  return base.$extends((client) =>
    client.$extends({
      name: 'bench-peer-rls-batch',
      query: {
        $allModels: {
          async $allOperations({ args, query }) {
            const [, result] = await client.$transaction([
              client.$executeRaw`SELECT set_config(${SETTING}, ${signedSetting()}, TRUE)`,
              query(args),
            ]);
            return result;
          },
        },
      },
    }),
  ) as unknown as PrismaClient;
}

/** The interactive-transaction-per-query mechanism: BEGIN, set_config, query, COMMIT. */
export function withInteractiveTransaction(base: PrismaClient): PrismaClient {
  return base.$extends({
    name: 'bench-peer-itx',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args }) {
          return base.$transaction(async (tx) => {
            await tx.$executeRaw`SELECT set_config(${SETTING}, ${signedSetting()}, TRUE)`;
            const delegate = (
              tx as unknown as Record<string, Record<string, (a: unknown) => unknown>>
            )[delegateOf(model)];
            return delegate[operation](args);
          });
        },
      },
    },
  }) as unknown as PrismaClient;
}
