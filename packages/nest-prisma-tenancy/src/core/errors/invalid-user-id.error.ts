import { TenancyError } from './tenancy.error';

/** A user id that is not a UUID was given to runInTenant(..., { userId }). */
export class InvalidUserIdError extends TenancyError {
  constructor(value: unknown) {
    super(
      `The user id must be a UUID string (e.g. 3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b), got ` +
        `${typeof value === 'string' ? `"${value.slice(0, 80)}"` : typeof value}.`,
    );
  }
}
