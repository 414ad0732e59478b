import { IsString, Length } from 'class-validator';
import { IsStorableText } from '../../common/is-storable-text.decorator';

export class CreateWorkspaceDto {
  /** 1 to 100 characters. */
  @IsString()
  @Length(1, 100)
  @IsStorableText()
  name!: string;
}
