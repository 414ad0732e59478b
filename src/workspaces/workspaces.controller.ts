import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Authenticated, TenantScoped } from 'nest-prisma-tenancy';
import { CreateWorkspaceDto } from './dto/create-workspace.dto';
import { WorkspacesService } from './workspaces.service';

@Controller('workspaces')
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  /** Creates a workspace; the caller (token `sub`) becomes its OWNER. No workspace claim needed. */
  @Post()
  @HttpCode(201)
  @Authenticated()
  create(@Body() dto: CreateWorkspaceDto) {
    return this.workspaces.create(dto.name);
  }

  /** The workspace named by the token's claim. */
  @Get('current')
  @TenantScoped()
  current() {
    return this.workspaces.current();
  }
}
