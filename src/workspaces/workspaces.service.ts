import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PrismaService, runInTenant, tenantContext } from 'nest-prisma-tenancy';

export interface WorkspaceView {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
}

const view = { id: true, name: true, slug: true, createdAt: true } as const;

function slugify(name: string, id: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'workspace'}-${id.slice(0, 8)}`;
}

@Injectable()
export class WorkspacesService {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Creates a workspace with the caller as OWNER (the user row is created if absent). Both rows
   * are written in one transaction inside the new workspace's own tenant context, so Row-Level
   * Security accepts them and no cross-tenant privilege is needed.
   */
  async create(name: string): Promise<WorkspaceView & { role: 'OWNER' }> {
    const userId = tenantContext.getUserId() as string;
    // INSERT ... ON CONFLICT DO NOTHING: atomic when the same new user's first requests race.
    await this.prisma.user.createMany({
      data: [{ id: userId, email: `${userId}@users.invalid` }],
      skipDuplicates: true,
    });
    const id = randomUUID();
    const workspace = await runInTenant(id, () =>
      this.prisma.$transaction(async (tx) => {
        const created = await tx.workspace.create({
          data: { name, slug: slugify(name, id) },
          select: view,
        });
        await tx.workspaceMember.create({ data: { userId, role: 'OWNER' } });
        return created;
      }),
    );
    return { ...workspace, role: 'OWNER' };
  }

  /** The current workspace (the tenant client only ever sees that one). */
  current(): Promise<WorkspaceView> {
    return this.prisma.workspace.findFirstOrThrow({ select: view });
  }
}
