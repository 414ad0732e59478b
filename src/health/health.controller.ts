import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { UnscopedPrismaService } from 'nest-prisma-tenancy';

/** How long /health waits for the database before reporting it down, in ms. */
export const HEALTH_TIMEOUT_MS = 2000;

@Controller('health')
export class HealthController {
  /** Unscoped: the health check runs without a tenant. */
  constructor(private readonly prisma: UnscopedPrismaService) {}

  /** 200 `{ status: 'ok', database: 'up' }` while the database answers; 503 when it does not. */
  @Get()
  async check(): Promise<{ status: 'ok'; database: 'up' }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
    });
    const up = await Promise.race([this.prisma.isHealthy(), timeout]).finally(() =>
      clearTimeout(timer),
    );
    if (!up) throw new ServiceUnavailableException({ status: 'error', database: 'down' });
    return { status: 'ok', database: 'up' };
  }
}
