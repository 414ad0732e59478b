import {
  DEFAULT_THROTTLE,
  DEVELOPMENT_JWT_SECRET,
  DEVELOPMENT_TENANT_SETTING_SECRET,
  readEnvironment,
  readThrottle,
} from './environment';
import { InvalidEnvironmentError } from './invalid-environment.error';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const SETTING_SECRET = 'Qm9vdHN0cmFwLXRlbmFudC1zZXR0aW5nLWtleS0wMTIzNDU2Nzg5';
/** Both secrets, real ones: what every database of your own needs. */
const SECRETS = { JWT_SECRET: SECRET, TENANT_SETTING_SECRET: SETTING_SECRET };
const GENERATE = `Generate one with: node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`;
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
    const error = problemsOf({ NODE_ENV: 'production', ...SECRETS });

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
    const error = problemsOf({ DATABASE_URL: RUNTIME_URL, ...SECRETS });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DIRECT_URL is required when DATABASE_URL is set');
    expect(error.problems[0]).toContain('connection that migrations use');
    expect(error.problems[0]).toContain('Example: DIRECT_URL=');
  });

  it('rejects a malformed URL', () => {
    const error = problemsOf({ DATABASE_URL: 'not a url', DIRECT_URL: OWNER_URL, ...SECRETS });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DATABASE_URL is not a valid URL');
    expect(error.problems[0]).toContain('Example: DATABASE_URL=');
  });

  it('rejects a URL whose scheme is not postgres', () => {
    const error = problemsOf({
      DATABASE_URL: RUNTIME_URL,
      DIRECT_URL: 'mysql://root@db/app',
      ...SECRETS,
    });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('DIRECT_URL must start with postgresql:// (got mysql://)');
    expect(error.problems[0]).toContain('Example: DIRECT_URL=');
  });

  it('rejects a JWT_SECRET shorter than 32 characters', () => {
    const error = problemsOf({ JWT_SECRET: 'too-short' });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('JWT_SECRET is 9 characters long; it needs at least 32.');
    expect(error.problems[0]).toContain('HS256 secret that verifies bearer tokens');
    expect(error.problems[0]).toContain(GENERATE);
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

    expect(error.problems).toHaveLength(5);
    const [direct, database, secret, settingSecret, port] = error.problems;
    expect(direct).toMatch(/^DIRECT_URL must start with postgresql:\/\//);
    expect(database).toMatch(/^DATABASE_URL is required in production/);
    expect(secret).toMatch(/^JWT_SECRET is 5 characters long/);
    expect(settingSecret).toMatch(
      /^TENANT_SETTING_SECRET is not set; production needs a real secret/,
    );
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
      ...SECRETS,
      JWT_ISSUER: 'https://auth.example.com/',
      JWT_AUDIENCE: 'tenancy-api',
      THROTTLE_LIMIT: '100',
      THROTTLE_TTL_MS: '10000',
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
      tenantSettingSecret: SETTING_SECRET,
      tenantSettingSecretIsDevelopmentDefault: false,
      throttle: { limit: 100, ttlMs: 10_000 },
      port: 8080,
    });
  });

  it('uses the embedded PostgreSQL and flags both development secrets for an empty development environment', () => {
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
      tenantSettingSecret: DEVELOPMENT_TENANT_SETTING_SECRET,
      tenantSettingSecretIsDevelopmentDefault: true,
      throttle: DEFAULT_THROTTLE,
      port: 3000,
    });
  });
});

/** A database of your own: both URLs set, not the embedded server's. */
const OWN_DATABASE = { DATABASE_URL: RUNTIME_URL, DIRECT_URL: OWNER_URL };
/** The embedded server's own URLs, as the app's tools hand them to the Prisma CLI and the seed. */
const EMBEDDED_URLS = {
  DATABASE_URL: 'postgresql://app_runtime:app_runtime@127.0.0.1:54329/app',
  DIRECT_URL: 'postgresql://postgres:postgres@127.0.0.1:54329/app',
};
const PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\\n-----END PUBLIC KEY-----';

describe.each([
  ['JWT_SECRET', 'HS256 secret that verifies bearer tokens', DEVELOPMENT_JWT_SECRET],
  [
    'TENANT_SETTING_SECRET',
    "key that signs the tenant setting the database's Row-Level Security policies verify",
    DEVELOPMENT_TENANT_SETTING_SECRET,
  ],
] as const)('readEnvironment: %s fails closed', (name, purpose, developmentDefault) => {
  /** The environment with `name` set to `value` (deleted when undefined), the other secret real. */
  const withSecret = (value: string | undefined, env: NodeJS.ProcessEnv = OWN_DATABASE) => {
    const all: NodeJS.ProcessEnv = { ...env, ...SECRETS };
    if (value === undefined) delete all[name];
    else all[name] = value;
    return all;
  };
  /** The one problem the environment has: it names `name`, its purpose and how to generate one. */
  const onlyProblem = (env: NodeJS.ProcessEnv): string => {
    const error = problemsOf(env);
    expect(error.problems).toHaveLength(1);
    const [problem] = error.problems;
    expect(problem).toContain(`It is the ${purpose}`);
    expect(problem).toContain(GENERATE);
    expect(problem).toContain(`(Example: ${name}=<the output of that command>)`);
    return problem;
  };

  it('is required with a database of your own (DATABASE_URL set, NODE_ENV unset)', () => {
    expect(onlyProblem(withSecret(undefined))).toMatch(
      new RegExp(
        `^${name} is not set; a database of your own \\(DATABASE_URL\\) needs a real secret ` +
          `\\(the public development default only serves the embedded PostgreSQL\\)\\. `,
      ),
    );
    expect(onlyProblem(withSecret(''))).toMatch(new RegExp(`^${name} is not set; `));
  });

  it('is required in production', () => {
    expect(onlyProblem({ ...withSecret(undefined), NODE_ENV: 'production' })).toMatch(
      new RegExp(`^${name} is not set; production needs a real secret \\(`),
    );
  });

  it('refuses the public development default with a database of your own and in production', () => {
    expect(onlyProblem(withSecret(developmentDefault))).toMatch(
      new RegExp(
        `^${name} is the public development default; a database of your own \\(DATABASE_URL\\) needs a real secret`,
      ),
    );
    expect(onlyProblem({ ...withSecret(developmentDefault), NODE_ENV: 'production' })).toMatch(
      new RegExp(`^${name} is the public development default; production needs a real secret`),
    );
  });

  it('refuses a secret shorter than 32 characters, "changeme" and "secret" among them', () => {
    expect(onlyProblem(withSecret('x'.repeat(16) + 'abcdefghijklmno'))).toMatch(
      new RegExp(`^${name} is 31 characters long; it needs at least 32\\. `),
    );
    expect(onlyProblem(withSecret('changeme'))).toMatch(
      new RegExp(`^${name} is 8 characters long; it needs at least 32\\. `),
    );
    expect(onlyProblem(withSecret('secret'))).toMatch(
      new RegExp(`^${name} is 6 characters long; it needs at least 32\\. `),
    );
  });

  it.each([
    ['what .env.example shipped', 'change-me-to-a-random-string-of-at-least-32-characters'],
    ['a "change me" stand-in', 'CHANGE_ME_CHANGE_ME_CHANGE_ME_CHANGE_ME'],
    ['a "your secret" stand-in', 'your-secret-goes-here-0123456789abcdefghij'],
    ['a "placeholder" stand-in', 'placeholder-placeholder-placeholder-0123'],
    ['a value without variety', 'a'.repeat(48)],
    ['a repeated short pattern', '1234'.repeat(12)],
  ])('refuses a placeholder: %s', (_, value) => {
    expect(onlyProblem(withSecret(value))).toMatch(
      new RegExp(`^${name} is a placeholder value, not a secret\\. `),
    );
  });

  it('refuses a placeholder with the embedded PostgreSQL too, and names no secret value', () => {
    const problem = onlyProblem(
      withSecret('change-me-to-a-random-string-of-at-least-32-characters', {}),
    );

    expect(problem).toMatch(new RegExp(`^${name} is a placeholder value, not a secret\\. `));
    expect(problem).not.toContain('change-me-to');
  });

  it('falls back to the public development default only for the embedded PostgreSQL', () => {
    const embedded = readEnvironment(withSecret(undefined, {}));
    // What the app's tools hand to the Prisma CLI and the seed: the embedded server's own URLs.
    const child = readEnvironment(withSecret(undefined, EMBEDDED_URLS));
    const explicit = readEnvironment(withSecret(developmentDefault, EMBEDDED_URLS));

    for (const environment of [embedded, child, explicit]) {
      const [value, flag] =
        name === 'JWT_SECRET'
          ? [environment.jwtSecret, environment.jwtSecretIsDevelopmentDefault]
          : [environment.tenantSettingSecret, environment.tenantSettingSecretIsDevelopmentDefault];
      expect({ value, flag }).toEqual({ value: developmentDefault, flag: true });
    }
  });

  it('does not take an embedded-looking URL with other credentials, another port or in production', () => {
    for (const env of [
      {
        DATABASE_URL: 'postgresql://app_runtime:s3cret@127.0.0.1:54329/app',
        DIRECT_URL: EMBEDDED_URLS.DIRECT_URL,
      },
      {
        DATABASE_URL: 'postgresql://app_runtime:app_runtime@127.0.0.1:5432/app',
        DIRECT_URL: 'postgresql://postgres:postgres@127.0.0.1:5432/app',
      },
      { ...EMBEDDED_URLS, EMBEDDED_PG_PORT: '55000' },
      { ...EMBEDDED_URLS, NODE_ENV: 'production' },
    ]) {
      expect(onlyProblem(withSecret(undefined, env))).toMatch(new RegExp(`^${name} is not set; `));
    }
    expect(
      readEnvironment(
        withSecret(undefined, {
          DATABASE_URL: 'postgresql://app_runtime:app_runtime@127.0.0.1:55000/app',
          DIRECT_URL: 'postgresql://postgres:postgres@127.0.0.1:55000/app',
          EMBEDDED_PG_PORT: '55000',
        }),
      ).nodeEnv,
    ).toBe('development');
  });

  it('accepts a real secret with a database of your own', () => {
    const value = 'kR3v9QxZ2mT8wL5nB7yH4cJ6fD1sA0gP-_uE';
    const environment = readEnvironment({ ...withSecret(value), NODE_ENV: 'production' });

    expect(
      name === 'JWT_SECRET'
        ? [environment.jwtSecret, environment.jwtSecretIsDevelopmentDefault]
        : [environment.tenantSettingSecret, environment.tenantSettingSecretIsDevelopmentDefault],
    ).toEqual([value, false]);
  });
});

describe('readEnvironment(env, { secrets: false }): tools that neither verify tokens nor set tenants', () => {
  it('does not read the secrets: a migration job against a database of your own needs none', () => {
    const environment = readEnvironment(
      { ...OWN_DATABASE, NODE_ENV: 'production', JWT_SECRET: 'changeme' },
      { secrets: false },
    );

    expect(environment).toMatchObject({
      databaseUrl: RUNTIME_URL,
      directUrl: OWNER_URL,
      jwtSecret: '',
      jwtSecretIsDevelopmentDefault: false,
      tenantSettingSecret: '',
      tenantSettingSecretIsDevelopmentDefault: false,
    });
  });

  it('still validates everything else', () => {
    let error: unknown;
    try {
      readEnvironment({ DATABASE_URL: RUNTIME_URL }, { secrets: false });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    expect((error as InvalidEnvironmentError).problems).toEqual([
      expect.stringMatching(/^DIRECT_URL is required when DATABASE_URL is set/),
    ]);
  });
});

describe('readEnvironment: JWT_PUBLIC_KEY', () => {
  it('alone is a complete JWT configuration for a database of your own (no HS256 secret then)', () => {
    const environment = readEnvironment({
      ...OWN_DATABASE,
      NODE_ENV: 'production',
      JWT_PUBLIC_KEY: PUBLIC_KEY,
      TENANT_SETTING_SECRET: SETTING_SECRET,
    });

    expect(environment).toMatchObject({
      jwtSecret: '',
      jwtSecretIsDevelopmentDefault: false,
      jwtPublicKey: PUBLIC_KEY.replace(/\\n/g, '\n'),
    });
  });

  it('does not make TENANT_SETTING_SECRET optional', () => {
    const error = problemsOf({ ...OWN_DATABASE, JWT_PUBLIC_KEY: PUBLIC_KEY });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^TENANT_SETTING_SECRET is not set; /);
  });
});

describe('readEnvironment / readThrottle: THROTTLE_LIMIT and THROTTLE_TTL_MS', () => {
  it('defaults to 600 requests per 60 s', () => {
    expect(DEFAULT_THROTTLE).toEqual({ limit: 600, ttlMs: 60_000 });
    expect(readThrottle({})).toEqual(DEFAULT_THROTTLE);
    expect(readThrottle({ NODE_ENV: 'production' })).toEqual(DEFAULT_THROTTLE);
  });

  it('takes both values, and THROTTLE_LIMIT=0 turns the limit off', () => {
    expect(readThrottle({ THROTTLE_LIMIT: '5', THROTTLE_TTL_MS: '1000' })).toEqual({
      limit: 5,
      ttlMs: 1000,
    });
    expect(readThrottle({ THROTTLE_LIMIT: '0' })).toBe(false);
  });

  it('is off under NODE_ENV=test unless THROTTLE_LIMIT is set', () => {
    expect(readThrottle({ NODE_ENV: 'test' })).toBe(false);
    expect(readThrottle({ NODE_ENV: 'test', THROTTLE_LIMIT: '3' })).toEqual({
      limit: 3,
      ttlMs: 60_000,
    });
    expect(readEnvironment({ NODE_ENV: 'test' }).throttle).toBe(false);
  });

  it('rejects values that are not whole numbers, naming the variable', () => {
    const error = problemsOf({ THROTTLE_LIMIT: '-1', THROTTLE_TTL_MS: '0' });

    expect(error.problems).toEqual([
      'THROTTLE_LIMIT is "-1", not a whole number of at least 0. It is the most requests per client address and route in THROTTLE_TTL_MS (default 600; 0: no limit). Example: THROTTLE_LIMIT=600',
      'THROTTLE_TTL_MS is "0", not a whole number of at least 1. It is the window of THROTTLE_LIMIT, in ms (default 60000). Example: THROTTLE_TTL_MS=60000',
    ]);
    expect(() => readThrottle({ THROTTLE_LIMIT: 'lots' })).toThrow(InvalidEnvironmentError);
  });
});
