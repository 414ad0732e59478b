import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';

export interface OrgUser {
  id: string;
  orgId: string;
}

/**
 * The example's own authentication, Passport-style: it puts the caller on `req.user`, and the
 * library reads `user.id` and `user.orgId` from there (`auth.resolve: 'request'`). A real app would
 * verify a session or a token here; this one trusts an `x-user` header holding `{ "id", "orgId" }`.
 * No header: no `req.user`, and `@TenantScoped()` answers 401.
 */
@Injectable()
export class UserHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{
      headers: Record<string, string | string[] | undefined>;
      user?: OrgUser;
    }>();
    const header = req.headers['x-user'];
    if (typeof header !== 'string') return true;
    try {
      const parsed = JSON.parse(header) as Partial<OrgUser>;
      req.user = { id: String(parsed.id), orgId: String(parsed.orgId) };
    } catch {
      throw new UnauthorizedException('x-user is not JSON');
    }
    return true;
  }
}
