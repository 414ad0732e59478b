import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { TENANT_PRISMA_CLIENT } from '../prisma.constants';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { defaultSchemaSource } from '../../core/client/prisma-client-schema';
import { PrismaConnection } from '../prisma.service';
import { tenantContext } from '../../core/client/tenant-extension';
import { MembershipVerifier } from './membership-verifier';
import { InvalidPrismaModuleOptionsError } from '../prisma-options';

const tenantId = randomUUID();
const userId = randomUUID();

/** A verifier whose tenant pool answers `rows` rows; returns it and the pool's query mock. */
async function setup(options: PrismaModuleOptions, rows: number) {
  const seen: Array<{ sql: string; values: unknown[]; tenant: string | undefined }> = [];
  const query = jest.fn((sql: string, values: unknown[]) => {
    seen.push({ sql, values, tenant: tenantContext.getTenantId() });
    return Promise.resolve({ rowCount: rows });
  });
  const moduleRef = await Test.createTestingModule({
    providers: [
      MembershipVerifier,
      { provide: PRISMA_MODULE_OPTIONS, useValue: options },
      {
        provide: PrismaConnection,
        useValue: {
          source: { models: defaultSchemaSource().models },
          tenantPool: { query, settings: { schema: 'public' } },
        },
      },
      { provide: TENANT_PRISMA_CLIENT, useValue: {} },
    ],
  }).compile();
  return { verifier: moduleRef.get(MembershipVerifier), query, seen };
}

describe('MembershipVerifier', () => {
  it('looks the membership up with one SQL statement in the workspace’s own context', async () => {
    const { verifier, seen } = await setup({}, 1);

    await expect(verifier.isMember(tenantId, userId)).resolves.toBe(true);

    expect(seen).toEqual([
      {
        sql: 'SELECT 1 FROM "public"."workspace_members" WHERE "workspace_id" = $1 AND "user_id" = $2 LIMIT 1',
        values: [tenantId, userId],
        tenant: tenantId,
      },
    ]);
  });

  it('re-checks on every call by default, so a removed member is refused at once', async () => {
    const { verifier, query } = await setup({}, 1);

    await verifier.isMember(tenantId, userId);
    await verifier.isMember(tenantId, userId);

    expect(query).toHaveBeenCalledTimes(2);
  });

  it('with membershipCacheTtlMs, remembers a member (not a refusal) until the entry expires', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const member = await setup({ membershipCacheTtlMs: 30_000 }, 1);
      await member.verifier.isMember(tenantId, userId);
      await member.verifier.isMember(tenantId, userId);
      expect(member.query).toHaveBeenCalledTimes(1);
      jest.setSystemTime(1_000_000 + 30_001);
      await member.verifier.isMember(tenantId, userId);
      expect(member.query).toHaveBeenCalledTimes(2);

      const stranger = await setup({ membershipCacheTtlMs: 30_000 }, 0);
      await expect(stranger.verifier.isMember(tenantId, userId)).resolves.toBe(false);
      await expect(stranger.verifier.isMember(tenantId, userId)).resolves.toBe(false);
      expect(stranger.query).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('verifyMembership: false answers yes without a query', async () => {
    const { verifier, query } = await setup({ verifyMembership: false }, 0);

    await expect(verifier.isMember(tenantId, userId)).resolves.toBe(true);
    expect(query).not.toHaveBeenCalled();
  });

  it('membership: { model, tenantField, userField } names the table and columns', async () => {
    const { verifier, seen } = await setup(
      { membership: { model: 'ApiKey', tenantField: 'workspaceId', userField: 'createdById' } },
      1,
    );

    await expect(verifier.isMember(tenantId, userId)).resolves.toBe(true);
    expect(seen[0].sql).toBe(
      'SELECT 1 FROM "public"."api_keys" WHERE "workspace_id" = $1 AND "created_by_id" = $2 LIMIT 1',
    );
  });

  it('refuses at start-up a membership model or field that does not exist, naming the fix', async () => {
    await expect(setup({ membership: { model: 'Membership' } }, 1)).rejects.toThrow(
      new InvalidPrismaModuleOptionsError(
        'The membership model Membership does not exist in the Prisma schema: pass ' +
          "membership: { model: '<YourMembershipModel>', tenantField, userField }, a function " +
          'async ({ tenantId, userId, prisma }) => boolean, or membership: false.',
      ),
    );
    await expect(setup({ membership: { userField: 'memberId' } }, 1)).rejects.toThrow(
      /^The membership model WorkspaceMember has no scalar field memberId: set membership.userField to one of id, workspaceId, userId/,
    );
  });

  it('membership: false answers yes without a query, and wins over verifyMembership', async () => {
    const { verifier, query } = await setup({ membership: false, verifyMembership: true }, 0);

    await expect(verifier.isMember(tenantId, userId)).resolves.toBe(true);
    expect(query).not.toHaveBeenCalled();
  });

  it('a callback (membership or verifyMembership) runs in the workspace’s context', async () => {
    for (const key of ['membership', 'verifyMembership'] as const) {
      const tenants: Array<string | undefined> = [];
      const check = jest.fn(() => {
        tenants.push(tenantContext.getTenantId());
        return Promise.resolve(true);
      });
      const { verifier } = await setup({ [key]: check }, 0);

      await expect(verifier.isMember(tenantId, userId)).resolves.toBe(true);
      expect(tenants).toEqual([tenantId]);
    }
  });
});
