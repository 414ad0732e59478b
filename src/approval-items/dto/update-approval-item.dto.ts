import { ApprovalStatus } from '@prisma/client';
import { IsEnum, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { IsStorableText } from '../../common/is-storable-text.decorator';

export class UpdateApprovalItemDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @IsStorableText()
  title?: string;

  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  @IsStorableText()
  description?: string;

  /** PENDING, APPROVED or REJECTED. A decision records who made it and when. */
  @IsOptional()
  @IsEnum(ApprovalStatus)
  status?: ApprovalStatus;
}
