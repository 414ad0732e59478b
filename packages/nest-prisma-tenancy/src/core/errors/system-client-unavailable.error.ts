import { TenancyError } from './tenancy.error';

/** The system client was used without a reason, or without a configured connection. */
export class SystemClientUnavailableError extends TenancyError {
  /**
   * @param detail What is missing.
   * @param adminRole The configured admin role (`sql.adminRole`). Default: `'app_admin'`.
   */
  constructor(detail: string, adminRole = 'app_admin') {
    super(
      `The system (cross-tenant) client cannot be used: ${detail}. Configure it with the ` +
        `PrismaModule option systemUrl (SYSTEM_DATABASE_URL, as the role ${adminRole}) and call ` +
        `systemPrisma.forReason('why this needs every tenant').`,
    );
  }
}
