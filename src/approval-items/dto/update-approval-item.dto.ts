import { ApprovalStatus } from '@prisma/client';
import { IsEnum, IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class UpdateApprovalItemDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;

  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  /** PENDING, APPROVED or REJECTED. A decision records who made it and when. */
  @IsOptional()
  @IsEnum(ApprovalStatus)
  status?: ApprovalStatus;
}
