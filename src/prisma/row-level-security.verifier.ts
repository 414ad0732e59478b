import type { Logger } from '@nestjs/common';
import { Prisma, type PrismaClient } from '@prisma/client';
import { RowLevelSecurityNotEnforcedError } from './errors/row-level-security-not-enforced.error';
import { TENANT_SETTING } from './prisma.constants';
import { buildTenantModelMap } from './tenant/tenant-models';

const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

interface TableRow {
  table: string;
  exists: boolean;
  rls: boolean;
  forced: boolean;
  owned: boolean;
}
interface PolicyRow {
  table: string;
  policy: string;
  cmd: string;
  qual: string | null;
  with_check: string | null;
}
interface RoleRow {
  role: string;
  superuser: boolean;
  bypassrls: boolean;
}

/** The database table names of the tenant-scoped models (tenant-owned and the root). */
export function tenantTables(options: {
  tenantField?: string;
  tenantModels?: readonly string[];
  tenantRootModel?: string | null;
}): string[] {
  const map = buildTenantModelMap({
    tenantField: options.tenantField,
    tenantOwned: options.tenantModels,
    rootModel: options.tenantRootModel,
  });
  const scoped = new Set([...map.tenantOwned, ...(map.rootModel ? [map.rootModel] : [])]);
  return Prisma.dmmf.datamodel.models
    .filter((m) => scoped.has(m.name))
    .map((m) => m.dbName ?? m.name)
    .sort();
}

/**
 * Checks, as the connected (runtime) role, that PostgreSQL really enforces tenant isolation:
 * the role is neither SUPERUSER nor BYPASSRLS, and every tenant-scoped table exists, has Row-Level
 * Security enabled, is FORCEd when the role owns it, and has, for each of SELECT, INSERT, UPDATE
 * and DELETE, a policy that applies to the role, and every policy that applies to the role compares
 * with the workspace setting (a policy that does not is a bypass).
 */
export class RowLevelSecurityVerifier {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: {
      tenantField?: string;
      tenantModels?: readonly string[];
      tenantRootModel?: string | null;
      rlsCheck?: 'error' | 'warn' | 'off';
    },
  ) {}

  /** Lists every problem found (empty when isolation is enforced). */
  async problems(): Promise<string[]> {
    const tables = tenantTables(this.options);
    const problems: string[] = [];
    const [role] = await this.prisma.$queryRawUnsafe<RoleRow[]>(
      `SELECT rolname::text AS role, rolsuper AS superuser, rolbypassrls AS bypassrls
         FROM pg_roles WHERE rolname = current_user`,
    );
    if (role?.superuser)
      problems.push(`the role ${role.role} is a SUPERUSER, which ignores Row-Level Security`);
    if (role?.bypassrls) problems.push(`the role ${role.role} has BYPASSRLS`);

    const tableRows = await this.prisma.$queryRawUnsafe<TableRow[]>(
      `SELECT t.name AS table, c.oid IS NOT NULL AS exists,
              coalesce(c.relrowsecurity, false) AS rls, coalesce(c.relforcerowsecurity, false) AS forced,
              coalesce(pg_has_role(current_user, c.relowner, 'USAGE'), false) AS owned
         FROM unnest($1::text[]) AS t(name)
         LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(t.name))`,
      tables,
    );
    const policies = await this.prisma.$queryRawUnsafe<PolicyRow[]>(
      `SELECT tablename::text AS table, policyname::text AS policy, cmd, qual, with_check
         FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = ANY($1::text[])
          AND permissive = 'PERMISSIVE'
          AND EXISTS (SELECT 1 FROM unnest(roles) r
                       WHERE CASE WHEN r = 'public' THEN true ELSE pg_has_role(current_user, r, 'MEMBER') END)`,
      tables,
    );

    for (const row of tableRows) {
      if (!row.exists) {
        problems.push(
          `table ${row.table} does not exist (apply the migrations: npm run db:deploy)`,
        );
        continue;
      }
      if (!row.rls) problems.push(`table ${row.table} does not have Row-Level Security enabled`);
      if (row.owned && !row.forced) {
        problems.push(`table ${row.table} is owned by the runtime role and its RLS is not FORCEd`);
      }
      const mine = policies.filter((p) => p.table === row.table);
      for (const command of COMMANDS) {
        if (!mine.some((p) => p.cmd === command || p.cmd === 'ALL')) {
          problems.push(
            `table ${row.table} has no ${command} policy that applies to the runtime role`,
          );
        }
      }
      for (const policy of mine) {
        const checks = [policy.qual, policy.with_check].filter((e): e is string => e !== null);
        if (
          !checks.every((e) => e.includes('current_workspace_id()') || e.includes(TENANT_SETTING))
        ) {
          problems.push(
            `policy ${policy.policy} on ${row.table} applies to the runtime role but does not compare ` +
              `with the workspace (a bypass)`,
          );
        }
      }
    }
    return problems;
  }

  /**
   * Runs the check and, per the `rlsCheck` option, throws (`'error'`, the default) or logs (`'warn'`).
   *
   * @throws RowLevelSecurityNotEnforcedError listing every problem.
   */
  async verify(logger: Logger): Promise<void> {
    const problems = await this.problems();
    if (problems.length === 0) {
      logger.log('Row-Level Security verified on every tenant-scoped table');
      return;
    }
    const error = new RowLevelSecurityNotEnforcedError(problems);
    if ((this.options.rlsCheck ?? 'error') === 'error') throw error;
    logger.warn(error.message);
  }
}
