/**
 * An isolation check of the test kit failed: a tenant could see or change another tenant's row,
 * or a write into another tenant was not refused the documented way. The message names the
 * model, the check and what happened instead; `cause` is the underlying error, if any.
 */
export class IsolationViolationError extends Error {
  override name = 'IsolationViolationError';

  constructor(
    readonly model: string,
    readonly check: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${model}: ${check}: ${detail}`, options);
  }
}
