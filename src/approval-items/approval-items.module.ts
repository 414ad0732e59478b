import { Module } from '@nestjs/common';
import { ApprovalItemsController } from './approval-items.controller';
import { ApprovalItemsService } from './approval-items.service';

@Module({ controllers: [ApprovalItemsController], providers: [ApprovalItemsService] })
export class ApprovalItemsModule {}
