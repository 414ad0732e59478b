import { DEVELOPMENT_JWT_SECRET, readEnvironment } from './environment';
import { InvalidEnvironmentError } from './invalid-environment.error';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const RUNTIME_URL = 'postgresql://app_runtime:pw@db.internal:6432/app?pgbouncer=true';
const OWNER_URL = 'postgresql://postgres:pw@db.internal:5432/app';

function problemsOf(env: NodeJS.ProcessEnv): InvalidEnvironmentError {
  try {
    readEnvironment(env);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) return error;
    throw error;
  }
  throw new Error('readEnvironment accepted an invalid environment');
}

describe('readEnvironment', () => {
  it('requires DATABASE_URL in production, naming its purpose and an example', () => {
    const error = problemsOf({ NODE_ENV: 'production', JWT_SECRET: SECRET });

    expect(error.name).toBe('InvalidEnvironmentError');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DATABASE_URL is required in production');
    expect(error.problems[0]).toContain('pooled connection the app uses at run time');
    expect(error.problems[0]).toContain(
      'Example: DATABASE_URL=postgresql://app_runtime:app_runtime@localhost:6432/app?pgbouncer=true',
    );
    expect(error.message).toContain('.env.example');
  });

  it('requires DIRECT_URL when DATABASE_URL is set', () => {
    const error = problemsOf({ DATABASE_URL: RUNTIME_URL, JWT_SECRET: SECRET });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DIRECT_URL is required when DATABASE_URL is set');
    expect(error.problems[0]).toContain('connection that migrations use');
    expect(error.problems[0]).toContain('Example: DIRECT_URL=');
  });

  it('rejects a malformed URL', () => {
    const error = problemsOf({ DATABASE_URL: 'not a url', DIRECT_URL: OWNER_URL });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DATABASE_URL is not a valid URL');
    expect(error.problems[0]).toContain('Example: DATABASE_URL=');
  });

  it('rejects a URL whose scheme is not postgres', () => {
    const error = problemsOf({ DATABASE_URL: RUNTIME_URL, DIRECT_URL: 'mysql://root@db/app' });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DIRECT_URL must start with postgresql:// (got mysql://)');
    expect(error.problems[0]).toContain('Example: DIRECT_URL=');
  });

  it('rejects a JWT_SECRET shorter than 32 characters', () => {
    const error = problemsOf({ JWT_SECRET: 'too-short' });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('JWT_SECRET is 9 characters long');
    expect(error.problems[0]).toContain('at least 32 characters');
    expect(error.problems[0]).toContain('Example: JWT_SECRET=');
  });

  it('rejects a PORT that is not a port number', () => {
    const error = problemsOf({ PORT: '70000' });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('PORT is "70000", not a port number from 1 to 65535');
    expect(error.problems[0]).toContain('HTTP port of the API');
    expect(error.problems[0]).toContain('Example: PORT=3000');
  });

  it('reports every problem at once', () => {
    const error = problemsOf({
      NODE_ENV: 'production',
      DIRECT_URL: 'http://example.com/app',
      JWT_SECRET: 'short',
      PORT: 'eighty',
    });

    expect(error.problems).toHaveLength(4);
    const [direct, database, secret, port] = error.problems;
    expect(direct).toMatch(/^DIRECT_URL must start with postgresql:\/\//);
    expect(database).toMatch(/^DATABASE_URL is required in production/);
    expect(secret).toMatch(/^JWT_SECRET is 5 characters long/);
    expect(port).toMatch(/^PORT is "eighty"/);
    for (const problem of error.problems) {
      expect(error.message).toContain(`  - ${problem}`);
      expect(problem).toContain('Example:');
    }
  });

  it('parses a valid production environment', () => {
    const environment = readEnvironment({
      NODE_ENV: 'production',
      DATABASE_URL: RUNTIME_URL,
      DIRECT_URL: OWNER_URL,
      SYSTEM_DATABASE_URL: 'postgresql://app_admin:pw@db.internal:5432/app',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'https://auth.example.com/',
      JWT_AUDIENCE: 'tenancy-api',
      PORT: '8080',
    });

    expect(environment).toEqual({
      nodeEnv: 'production',
      databaseUrl: RUNTIME_URL,
      directUrl: OWNER_URL,
      systemDatabaseUrl: 'postgresql://app_admin:pw@db.internal:5432/app',
      jwtSecret: SECRET,
      jwtSecretIsDevelopmentDefault: false,
      jwtPublicKey: undefined,
      jwtIssuer: 'https://auth.example.com/',
      jwtAudience: 'tenancy-api',
      port: 8080,
    });
  });

  it('uses the embedded PostgreSQL and flags the development JWT secret for an empty development environment', () => {
    const environment = readEnvironment({});

    expect(environment).toEqual({
      nodeEnv: 'development',
      databaseUrl: undefined,
      directUrl: undefined,
      systemDatabaseUrl: undefined,
      jwtSecret: DEVELOPMENT_JWT_SECRET,
      jwtSecretIsDevelopmentDefault: true,
      jwtPublicKey: undefined,
      jwtIssuer: undefined,
      jwtAudience: undefined,
      port: 3000,
    });
  });
});
