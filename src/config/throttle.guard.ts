import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/** The body of a refused request, in Nest's error shape (`{ message, error, statusCode }`). */
export const TOO_MANY_REQUESTS_BODY = {
  message: 'Too many requests; try again shortly',
  error: 'Too Many Requests',
  statusCode: HttpStatus.TOO_MANY_REQUESTS,
} as const;

/**
 * `@nestjs/throttler`'s guard, answering 429 with Nest's usual error body instead of the throttler's
 * `{ statusCode, message: 'ThrottlerException: Too Many Requests' }`. The `Retry-After` header (in
 * seconds) is still set by the throttler before it refuses.
 *
 * Registered as a global guard (`APP_GUARD`), it runs before the guards that `@TenantScoped()` and
 * `@Authenticated()` add to controllers: a refused request costs no token verification and no
 * membership query.
 */
@Injectable()
export class ThrottleGuard extends ThrottlerGuard {
  protected override throwThrottlingException(): Promise<void> {
    return Promise.reject(new HttpException(TOO_MANY_REQUESTS_BODY, HttpStatus.TOO_MANY_REQUESTS));
  }
}
