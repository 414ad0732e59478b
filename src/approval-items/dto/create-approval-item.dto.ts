import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { IsStorableText } from '../../common/is-storable-text.decorator';

export class CreateApprovalItemDto {
  /** 1 to 200 characters. */
  @IsString()
  @Length(1, 200)
  @IsStorableText()
  title!: string;

  /** Up to 10,000 characters. */
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  @IsStorableText()
  description?: string;
}
