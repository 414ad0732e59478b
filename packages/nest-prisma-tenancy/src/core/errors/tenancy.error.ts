/** Base class of every error the tenancy layer throws, so callers can catch them as one family. */
export abstract class TenancyError extends Error {
  override name = this.constructor.name;
}
