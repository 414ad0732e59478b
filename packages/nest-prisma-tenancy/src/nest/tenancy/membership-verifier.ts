import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { QueryResult } from 'pg';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import type {
  MembershipCallback,
  MembershipModelOptions,
} from '../interfaces/tenancy-auth-options.interface';
import { TENANT_PRISMA_CLIENT } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { InvalidPrismaModuleOptionsError, resolvePrismaOptions } from '../prisma-options';
import { PrismaConnection } from '../prisma.service';
import type { DataModelModel } from '../../core/client/prisma-client-schema';
import type { PendingMembershipCheck } from '../../core/context/tenant-context';
import { isTenantMembershipDenied } from '../../core/errors/tenant-membership-denied.error';
import { qualifiedFunction, type TenancySqlNames } from '../../core/sql/tenancy-sql-names';
import { runInTenant, type TenantPrismaClient } from '../../core/client/tenant-extension';

const CACHE_LIMIT = 10_000;

/** The 403 of a caller who is not (or no longer) a member of the request's tenant. */
export const notAMember = (): ForbiddenException =>
  new ForbiddenException('You are not a member of this tenant');

/** The membership lookups of `table` as SQL, or why they cannot be built (an options error). */
function membershipQueries(
  table: Required<Omit<MembershipModelOptions, 'checkAt'>>,
  models: readonly DataModelModel[],
  schema: string,
  sql: TenancySqlNames,
): { lookup: string; pipelined: string } {
  const { model: name, tenantField, userField } = table;
  const model = models.find((m) => m.name === name);
  if (!model) {
    throw new InvalidPrismaModuleOptionsError(
      `The membership model ${name} does not exist in the Prisma schema: pass ` +
        "membership: { model: '<YourMembershipModel>', tenantField, userField }, a function " +
        'async ({ tenantId, userId, prisma }) => boolean, or membership: false.',
    );
  }
  const column = (field: string, option: string) => {
    const found = model.fields.find((f) => f.name === field && f.kind === 'scalar');
    if (!found) {
      throw new InvalidPrismaModuleOptionsError(
        `The membership model ${name} has no scalar field ${field}: set membership.${option} ` +
          `to one of ${model.fields
            .filter((f) => f.kind === 'scalar')
            .map((f) => f.name)
            .join(', ')}.`,
      );
    }
    return `"${found.dbName ?? found.name}"`;
  };
  const tenant = column(tenantField, 'tenantField');
  const user = column(userField, 'userField');
  // Schema-qualified: unqualified names could resolve to a temporary table of the same name.
  const from = `"${schema}"."${model.dbName ?? model.name}"`;
  const fn = (name: 'tenantFunction' | 'userFunction') => `${qualifiedFunction(sql, name)}()`;
  return {
    lookup: `SELECT 1 FROM ${from} WHERE ${tenant} = $1 AND ${user} = $2 LIMIT 1`,
    // Against the verified claims of the signed setting sent just before it. Division by zero
    // (not a constant, so never folded at planning) is the distinct failure the pool maps to
    // TenantMembershipDeniedError.
    pipelined:
      `SELECT 1 / (SELECT pg_catalog.count(*)::int FROM (SELECT 1 FROM ${from} WHERE ` +
      `${tenant} = ${fn('tenantFunction')} AND ${user} = ${fn('userFunction')} LIMIT 1) AS membership)`,
  };
}

/**
 * Answers "is this user still a member of this tenant?" for `@TenantScoped()` requests.
 *
 * The default check is one indexed lookup of the membership model (`membership`, default
 * `WorkspaceMember`), sent straight through the tenant pool: one round trip with the workspace's
 * setting, so Row-Level Security applies, and no Prisma engine work (which costs about four times
 * the query itself on every request; see bench/RESULTS.md). A callback runs inside the
 * workspace's context, with the tenant client. Positive answers can be cached
 * (`membershipCacheTtlMs`).
 */
@Injectable()
export class MembershipVerifier {
  private readonly sql: string | undefined;
  /** The lookup pipelined with the request's first statement (`checkAt: 'first-query'`). */
  private readonly pipelinedSql: string | undefined;
  private readonly callback: MembershipCallback | undefined;
  private readonly ttl: number;
  private readonly cache = new Map<string, number>();

  constructor(
    @Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions,
    private readonly connection: PrismaConnection,
    @Inject(TENANT_PRISMA_CLIENT) private readonly tenantPrisma: TenantPrismaClient,
  ) {
    const settings = resolvePrismaOptions(options);
    this.ttl = settings.membershipCacheTtlMs;
    const check =
      options.membership !== undefined
        ? options.membership
        : settings.verifyMembership === true
          ? {}
          : settings.verifyMembership;
    if (typeof check === 'function') this.callback = check;
    else if (check !== false) {
      const queries = membershipQueries(
        {
          model: check.model ?? 'WorkspaceMember',
          tenantField: check.tenantField ?? settings.tenantField,
          userField: check.userField ?? 'userId',
        },
        connection.source.models,
        connection.tenantPool.settings.schema,
        settings.sql,
      );
      this.sql = queries.lookup;
      if ((check.checkAt ?? 'first-query') === 'first-query') this.pipelinedSql = queries.pipelined;
    }
  }

  /**
   * Starts the membership check of a `@TenantScoped()` request: with `checkAt: 'first-query'`
   * (model-based checks only, on a cache miss) it returns the check for the request's first
   * statement to carry (see PendingMembershipCheck); otherwise it checks now and returns nothing.
   *
   * @throws ForbiddenException when the check ran now and the user is not a member.
   */
  async begin(tenantId: string, userId: string): Promise<PendingMembershipCheck | undefined> {
    const key = `${tenantId}:${userId}`;
    if (this.pipelinedSql && !(this.ttl > 0 && (this.cache.get(key) ?? 0) > Date.now())) {
      return {
        tenantId,
        userId,
        sql: this.pipelinedSql,
        verified: false,
        onVerified: this.ttl > 0 ? () => this.remember(key) : undefined,
      };
    }
    if (!(await this.isMember(tenantId, userId))) throw notAMember();
    return undefined;
  }

  /**
   * Completes a check that no statement carried (a handler that ran none): looks it up now.
   *
   * @throws ForbiddenException when the user is not a member.
   */
  async complete(check: PendingMembershipCheck | undefined): Promise<void> {
    if (!check || check.verified) return;
    let member: boolean;
    try {
      member = await this.isMember(check.tenantId, check.userId);
    } catch (error) {
      // The pending check rides on the lookup itself and may refuse it first.
      if (isTenantMembershipDenied(error)) throw notAMember();
      throw error;
    }
    if (!member) throw notAMember();
    check.verified = true;
    check.onVerified?.();
  }

  /** True when `userId` may act in `tenantId` now (or per the configured cache). */
  async isMember(tenantId: string, userId: string): Promise<boolean> {
    const { callback, sql } = this;
    if (!callback && !sql) return true;
    const key = `${tenantId}:${userId}`;
    if (this.ttl > 0 && (this.cache.get(key) ?? 0) > Date.now()) return true;
    const member = await runInTenant(
      tenantId,
      async () => {
        if (callback) return callback({ tenantId, userId, prisma: this.tenantPrisma });
        const result = (await this.connection.tenantPool.query(sql as string, [
          tenantId,
          userId,
        ])) as QueryResult;
        return (result.rowCount ?? 0) > 0;
      },
      { userId },
    );
    if (member === true && this.ttl > 0) this.remember(key);
    return member === true;
  }

  private remember(key: string): void {
    this.cache.delete(key);
    if (this.cache.size >= CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, Date.now() + this.ttl);
  }
}
