import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { TenantMembershipDeniedError } from '../../core/errors/tenant-membership-denied.error';
import { notAMember } from './membership-verifier';

/**
 * Added by `@TenantScoped()`: a statement refused because the caller is no longer a member of the
 * tenant (the membership check riding on it, see `membership.checkAt`) is a 403, wherever it was
 * sent from (a later guard, a pipe, the handler), with or without PrismaExceptionFilter.
 */
@Catch(TenantMembershipDeniedError)
export class MembershipDeniedFilter extends BaseExceptionFilter implements ExceptionFilter {
  override catch(_exception: TenantMembershipDeniedError, host: ArgumentsHost): void {
    super.catch(notAMember(), host);
  }
}
