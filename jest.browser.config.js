// @ts-check
/**
 * Browser tests (`npm run test:browser`, run by CI): `test/**\/*.browser-spec.ts` on a fresh migrated
 * test database (the same global setup as `npm test`), driving Debian's Chromium. Kept out of
 * `npm test` so that the suite needs no browser.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: '.',
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testEnvironment: 'node',
  testTimeout: 180_000,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.browser-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: {
    '^nest-prisma-tenancy$': '<rootDir>/packages/nest-prisma-tenancy/src/index.ts',
    '^nest-prisma-tenancy/testing$': '<rootDir>/packages/nest-prisma-tenancy/src/testing/index.ts',
    '^nest-prisma-tenancy/prisma$':
      '<rootDir>/packages/nest-prisma-tenancy/src/prisma-cli/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/dist/'],
};
