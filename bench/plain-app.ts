/**
 * The HTTP baseline: the demo's `GET /approval-items/:id` served by a minimal Nest app on plain
 * Prisma. Same controller shape (ParseUUIDPipe, 404 when absent, global ValidationPipe), same token
 * verification (jsonwebtoken, HS256, `exp` required), but no tenancy: no nestjs-cls, no membership
 * check, one `findUnique` by the `(workspaceId, id)` key (the token's workspace) as the owner.
 */
import {
  type CanActivate,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  type OnApplicationShutdown,
  type OnModuleInit,
  Param,
  ParseUUIDPipe,
  Req,
  UnauthorizedException,
  UseGuards,
  ValidationPipe,
} from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { PrismaPg } from '@prisma/adapter-pg';
import { type ApprovalItem, PrismaClient } from '@prisma/client';
import jwt from 'jsonwebtoken';

/** Options of the baseline app. */
export interface PlainAppOptions {
  /** Connection URL (the owner: no Row-Level Security applies). */
  url: string;
  /** HS256 secret. */
  jwtSecret: string;
  /** Pool size, as the tenant app's default. */
  poolMax: number;
}

const PLAIN_APP_OPTIONS = Symbol('PLAIN_APP_OPTIONS');

/** Plain Prisma, connected on start and disconnected on shutdown. */
@Injectable()
export class PlainPrismaService
  extends PrismaClient
  implements OnModuleInit, OnApplicationShutdown
{
  constructor(@Inject(PLAIN_APP_OPTIONS) options: PlainAppOptions) {
    super({ adapter: new PrismaPg({ connectionString: options.url, max: options.poolMax }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}

/** The request as the guard leaves it: the token's workspace, for the `(workspaceId, id)` key. */
interface PlainRequest {
  headers: Record<string, string | undefined>;
  workspaceId?: string;
}

/** Verifies `Authorization: Bearer <JWT>` (HS256 only, `exp` required), as the demo's TokenVerifier. */
@Injectable()
export class PlainJwtGuard implements CanActivate {
  constructor(@Inject(PLAIN_APP_OPTIONS) private readonly options: PlainAppOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PlainRequest>();
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(
      request.headers.authorization?.trim() ?? '',
    );
    if (!match)
      throw new UnauthorizedException('A bearer token is required (Authorization: Bearer <JWT>)');
    let claims: string | jwt.JwtPayload;
    try {
      claims = jwt.verify(match[1], this.options.jwtSecret, { algorithms: ['HS256'] });
    } catch {
      throw new UnauthorizedException('The token is invalid');
    }
    if (typeof claims !== 'object' || typeof claims.exp !== 'number') {
      throw new UnauthorizedException('The token has no expiry (exp)');
    }
    if (typeof claims.workspaceId !== 'string') {
      throw new UnauthorizedException('The token has no workspaceId');
    }
    request.workspaceId = claims.workspaceId;
    return true;
  }
}

const uuid = new ParseUUIDPipe({ version: undefined });

@Controller('approval-items')
@UseGuards(PlainJwtGuard)
export class PlainApprovalItemsController {
  constructor(private readonly prisma: PlainPrismaService) {}

  @Get(':id')
  async get(@Param('id', uuid) id: string, @Req() request: PlainRequest): Promise<ApprovalItem> {
    const item = await this.prisma.approvalItem.findUnique({
      where: { workspaceId_id: { workspaceId: request.workspaceId ?? '', id } },
    });
    if (!item) throw new NotFoundException('Not found');
    return item;
  }
}

/** The baseline app's root module. */
@Module({})
export class PlainAppModule {
  static forRoot(options: PlainAppOptions): DynamicModule {
    return {
      module: PlainAppModule,
      controllers: [PlainApprovalItemsController],
      providers: [
        { provide: PLAIN_APP_OPTIONS, useValue: options },
        PlainPrismaService,
        PlainJwtGuard,
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
          }),
        },
      ],
    };
  }
}
