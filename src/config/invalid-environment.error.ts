/** Thrown before anything connects when an environment variable is missing or malformed. */
export class InvalidEnvironmentError extends Error {
  override name = 'InvalidEnvironmentError';

  constructor(readonly problems: string[]) {
    super(
      `Invalid environment (fix these in your shell or in .env; .env.example documents each):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}
