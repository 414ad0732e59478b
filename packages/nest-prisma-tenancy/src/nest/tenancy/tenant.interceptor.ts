import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { TenantGuard } from './tenant.guard';

/**
 * Does `TenantGuard`'s work (identity, membership, request context) as an interceptor, which Nest
 * runs after every guard: global, controller and handler ones. `@TenantScoped()` and
 * `@Authenticated()` add it; with `auth.stage: 'interceptor'` it, not the guard, fills the context,
 * so the app's own authentication guard may be listed anywhere. Registered globally
 * (`APP_INTERCEPTOR`) too, it works once per request.
 */
@Injectable()
export class TenantInterceptor implements NestInterceptor {
  constructor(private readonly guard: TenantGuard) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    await this.guard.authorize(context);
    return next.handle();
  }
}
