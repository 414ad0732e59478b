/** A command line the CLI cannot run: it prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = this.constructor.name;
}
