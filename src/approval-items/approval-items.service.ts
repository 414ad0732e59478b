import { Injectable, NotFoundException } from '@nestjs/common';
import { definedOnly } from '../common/defined-only';
import { PrismaService, tenantContext, type ApprovalItem } from 'nest-prisma-tenancy';
import type { CreateApprovalItemDto } from './dto/create-approval-item.dto';
import type { UpdateApprovalItemDto } from './dto/update-approval-item.dto';

/**
 * The demo's tenant-owned resource. Nothing here mentions a workspace: the tenant client scopes
 * every query to the caller's, and PostgreSQL checks it again.
 */
@Injectable()
export class ApprovalItemsService {
  constructor(private readonly prisma: PrismaService) {}

  create(dto: CreateApprovalItemDto): Promise<ApprovalItem> {
    return this.prisma.approvalItem.create({
      data: definedOnly({
        title: dto.title,
        description: dto.description,
        createdById: tenantContext.getUserId(),
      }),
    });
  }

  list(take = 20, skip = 0): Promise<ApprovalItem[]> {
    return this.prisma.approvalItem.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take,
      skip,
    });
  }

  /** The item, or 404 when it does not exist or belongs to another workspace (same answer). */
  async get(id: string): Promise<ApprovalItem> {
    const item = await this.prisma.approvalItem.findUnique({ where: { id } });
    if (!item) throw new NotFoundException('Not found');
    return item;
  }

  update(id: string, dto: UpdateApprovalItemDto): Promise<ApprovalItem> {
    const decision =
      dto.status === undefined
        ? {}
        : dto.status === 'PENDING'
          ? { decidedAt: null, decidedById: null }
          : { decidedAt: new Date(), decidedById: tenantContext.getUserId() ?? null };
    return this.prisma.approvalItem.update({
      where: { id },
      data: definedOnly({
        title: dto.title,
        description: dto.description,
        status: dto.status,
        ...decision,
      }),
    });
  }

  async remove(id: string): Promise<void> {
    await this.prisma.approvalItem.delete({ where: { id }, select: { id: true } });
  }
}
