import { IsString, Length } from 'class-validator';

export class CreateWorkspaceDto {
  /** 1 to 100 characters. */
  @IsString()
  @Length(1, 100)
  name!: string;
}
