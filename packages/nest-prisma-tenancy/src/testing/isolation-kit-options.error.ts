/**
 * The isolation kit's options (or the PrismaModule options it took from the app) do not fit the
 * app: they name a model or field the schema does not have, no client class can be found, or the
 * app's options differ from those the tests were generated for. The message says which option,
 * where it came from, and how to fix it.
 */
export class IsolationKitOptionsError extends Error {
  override name = this.constructor.name;
}
