import { Inject, Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import type { QueryResult } from 'pg';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { TENANT_PRISMA_CLIENT } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import {
  InvalidPrismaModuleOptionsError,
  resolvePrismaOptions,
  type ResolvedPrismaOptions,
} from '../prisma-options';
import { PrismaService } from '../prisma.service';
import { runInTenant, type TenantPrismaClient } from '../../core/client/tenant-extension';

const CACHE_LIMIT = 10_000;

/** The `WorkspaceMember` lookup as SQL, with table and column names from the schema. */
function membershipQuery(tenantField: string, schema: string): string | undefined {
  const model = Prisma.dmmf.datamodel.models.find((m) => m.name === 'WorkspaceMember');
  if (!model) return undefined;
  const column = (name: string) => {
    const field = model.fields.find((f) => f.name === name);
    return field ? `"${field.dbName ?? field.name}"` : undefined;
  };
  const tenant = column(tenantField);
  const user = column('userId');
  if (!tenant || !user) return undefined;
  // Schema-qualified: unqualified names could resolve to a temporary table of the same name.
  return `SELECT 1 FROM "${schema}"."${model.dbName ?? model.name}" WHERE ${tenant} = $1 AND ${user} = $2 LIMIT 1`;
}

/**
 * Answers "is this user still a member of this workspace?" for `@TenantScoped()` requests.
 *
 * The default check (`verifyMembership: true`) is one indexed lookup of `WorkspaceMember`, sent
 * straight through the tenant pool: one round trip with the workspace's setting, so Row-Level
 * Security applies, and no Prisma engine work (which costs about four times the query itself on
 * every request; see bench/RESULTS.md). Positive answers can be cached (`membershipCacheTtlMs`).
 */
@Injectable()
export class MembershipVerifier {
  private readonly sql: string | undefined;
  private readonly ttl: number;
  private readonly verify: ResolvedPrismaOptions['verifyMembership'];
  private readonly cache = new Map<string, number>();

  constructor(
    @Inject(PRISMA_MODULE_OPTIONS) options: PrismaModuleOptions,
    private readonly prisma: PrismaService,
    @Inject(TENANT_PRISMA_CLIENT) private readonly tenantPrisma: TenantPrismaClient,
  ) {
    const settings = resolvePrismaOptions(options);
    this.ttl = settings.membershipCacheTtlMs;
    this.verify = settings.verifyMembership;
    this.sql = membershipQuery(settings.tenantField, prisma.tenantPool.settings.schema);
    if (this.verify === true && !this.sql) {
      throw new InvalidPrismaModuleOptionsError(
        'verifyMembership: true needs a WorkspaceMember model with userId and the tenant field; ' +
          'pass verifyMembership: async ({ tenantId, userId, prisma }) => boolean, or false.',
      );
    }
  }

  /** True when `userId` may act in `tenantId` now (or per the configured cache). */
  async isMember(tenantId: string, userId: string): Promise<boolean> {
    const verify = this.verify;
    if (verify === false) return true;
    const key = `${tenantId}:${userId}`;
    if (this.ttl > 0 && (this.cache.get(key) ?? 0) > Date.now()) return true;
    const member =
      typeof verify === 'function'
        ? await verify({ tenantId, userId, prisma: this.tenantPrisma })
        : await runInTenant(tenantId, async () => {
            const result = (await this.prisma.tenantPool.query(this.sql as string, [
              tenantId,
              userId,
            ])) as QueryResult;
            return (result.rowCount ?? 0) > 0;
          });
    if (member && this.ttl > 0) this.remember(key);
    return member;
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
