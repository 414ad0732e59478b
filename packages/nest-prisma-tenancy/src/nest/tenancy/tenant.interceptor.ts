import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, concatMap, from, type Observable } from 'rxjs';
import { isTenantMembershipDenied } from '../../core/errors/tenant-membership-denied.error';
import { notAMember } from './membership-verifier';
import { TenantGuard } from './tenant.guard';

/**
 * Does `TenantGuard`'s work (identity, membership, request context) as an interceptor, which Nest
 * runs after every guard: global, controller and handler ones. `@TenantScoped()` and
 * `@Authenticated()` add it; with `auth.stage: 'interceptor'` it, not the guard, fills the context,
 * so the app's own authentication guard may be listed anywhere. Registered globally
 * (`APP_INTERCEPTOR`) too, it works once per request. It also completes a membership check that
 * the handler's database statements did not carry (see `membership.checkAt`).
 */
@Injectable()
export class TenantInterceptor implements NestInterceptor {
  constructor(private readonly guard: TenantGuard) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    await this.guard.authorize(context);
    // A membership check left to the first statement (`checkAt: 'first-query'`) that no statement
    // carried is done before the response, or the error, goes out: a non-member gets 403.
    return next.handle().pipe(
      concatMap((value: unknown) =>
        from(this.guard.completeMembership().then((): unknown => value)),
      ),
      catchError((error: unknown) => {
        // A non-member's first statement was refused: 403, with or without PrismaExceptionFilter.
        if (isTenantMembershipDenied(error)) throw notAMember();
        return from(
          this.guard.completeMembership().then(() => {
            throw error;
          }),
        );
      }),
    );
  }
}
