import {
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  UseGuards,
} from '@nestjs/common';
import { InjectTenantPrisma, TenantScoped } from 'nest-prisma-tenancy';
import type { PrismaClient } from './generated/prisma';
import { UserHeaderGuard } from './user.guard';

@Controller('projects')
@TenantScoped() // written above: the app's own guard below runs first
@UseGuards(UserHeaderGuard)
export class ProjectsController {
  constructor(@InjectTenantPrisma() private readonly prisma: PrismaClient) {}

  @Get()
  list() {
    // No orgId anywhere: the tenant client and Row-Level Security add it.
    return this.prisma.project.findMany({ orderBy: { name: 'asc' } });
  }

  @Post()
  create(@Body() body: { name?: unknown }) {
    return this.prisma.project.create({ data: { name: String(body.name ?? 'untitled') } });
  }

  @Get(':id')
  async get(@Param('id', ParseUUIDPipe) id: string) {
    const project = await this.prisma.project.findUnique({ where: { id } });
    if (!project) throw new NotFoundException();
    return project;
  }
}
