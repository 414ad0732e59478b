import { TenancyError } from './tenancy.error';

/** The system client was used without a reason, or without a configured connection. */
export class SystemClientUnavailableError extends TenancyError {
  constructor(detail: string) {
    super(
      `The system (cross-tenant) client cannot be used: ${detail}. Configure it with the ` +
        `PrismaModule option systemUrl (SYSTEM_DATABASE_URL, as the role app_admin) and call ` +
        `systemPrisma.forReason('why this needs every tenant').`,
    );
  }
}
