// @ts-check
/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
};

/** The demo and the tests import the library by its package name, as users do; Jest runs its source. */
const moduleNameMapper = {
  '^nest-prisma-tenancy$': '<rootDir>/packages/nest-prisma-tenancy/src/index.ts',
  '^nest-prisma-tenancy/testing$': '<rootDir>/packages/nest-prisma-tenancy/src/testing/index.ts',
  '^nest-prisma-tenancy/prisma$': '<rootDir>/packages/nest-prisma-tenancy/src/prisma-cli/index.ts',
};

/**
 * `npm test` runs both projects against a real PostgreSQL: the unit specs beside the code and the
 * e2e specs in `test/`. The global setup creates and migrates a fresh test database first (on the
 * server of DIRECT_URL when set, otherwise on the embedded PostgreSQL).
 *
 * @type {import('jest').Config}
 */
module.exports = {
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
  testTimeout: 30_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      roots: ['<rootDir>/src', '<rootDir>/prisma', '<rootDir>/packages'],
      testMatch: ['**/*.spec.ts'],
      transform,
      moduleNameMapper,
      modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/dist/'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      transform,
      moduleNameMapper,
      modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/dist/'],
    },
  ],
};
