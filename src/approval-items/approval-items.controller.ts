import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { TenantScoped } from 'nest-prisma-tenancy';
import { ApprovalItemsService } from './approval-items.service';
import { CreateApprovalItemDto } from './dto/create-approval-item.dto';
import { ListApprovalItemsQuery } from './dto/list-approval-items.query';
import { UpdateApprovalItemDto } from './dto/update-approval-item.dto';

const uuid = new ParseUUIDPipe({ version: undefined });

/** Approval items of the caller's workspace. Every route requires a workspace token. */
@Controller('approval-items')
@TenantScoped()
export class ApprovalItemsController {
  constructor(private readonly items: ApprovalItemsService) {}

  @Post()
  @HttpCode(201)
  create(@Body() dto: CreateApprovalItemDto) {
    return this.items.create(dto);
  }

  @Get()
  list(@Query() query: ListApprovalItemsQuery) {
    return this.items.list(query.take, query.skip);
  }

  @Get(':id')
  get(@Param('id', uuid) id: string) {
    return this.items.get(id);
  }

  @Patch(':id')
  update(@Param('id', uuid) id: string, @Body() dto: UpdateApprovalItemDto) {
    return this.items.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', uuid) id: string) {
    return this.items.remove(id);
  }
}
