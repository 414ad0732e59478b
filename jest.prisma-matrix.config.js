// @ts-check
/**
 * The library's own specs (packages/nest-prisma-tenancy/src/**\/*.spec.ts) on another Prisma Client
 * than the demo's: scripts/prisma-matrix.sh generates each client into .data/prisma-matrix/<variant>
 * and runs Jest with this config and
 * - PRISMA_MATRIX_CLIENT: the module that stands for `@prisma/client` (the generated client);
 * - PRISMA_MATRIX_PACKAGES: the node_modules folder that holds the matching `@prisma/client`
 *   runtime, `@prisma/adapter-pg` and `@prisma/driver-adapter-utils`.
 * The library and the specs import those packages by name, so every import, theirs and the
 * packages' own, lands on the same Prisma version.
 *
 * @type {import('jest').Config}
 */
const { resolve } = require('node:path');

const client = process.env.PRISMA_MATRIX_CLIENT;
const packages = process.env.PRISMA_MATRIX_PACKAGES;
if (!client || !packages) {
  throw new Error(
    'Run through scripts/prisma-matrix.sh (PRISMA_MATRIX_CLIENT and PRISMA_MATRIX_PACKAGES are unset).',
  );
}

module.exports = {
  rootDir: '.',
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 30_000,
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/*.spec.ts'],
  // Transpile only: `npm test` and `tsc` type-check the specs against the demo's client.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.matrix.json' }] },
  moduleNameMapper: {
    '^@prisma/client$': resolve(client),
    '^@prisma/client/(.*)$': resolve(packages, '@prisma/client/$1'),
    '^@prisma/adapter-pg$': resolve(packages, '@prisma/adapter-pg/dist/index.js'),
    '^@prisma/driver-adapter-utils$': resolve(
      packages,
      '@prisma/driver-adapter-utils/dist/index.js',
    ),
    // One node-postgres, as in an app's install: the adapter checks `pool instanceof pg.Pool`.
    '^pg$': require.resolve('pg'),
    '^nest-prisma-tenancy$': '<rootDir>/packages/nest-prisma-tenancy/src/index.ts',
    '^nest-prisma-tenancy/testing$': '<rootDir>/packages/nest-prisma-tenancy/src/testing/index.ts',
    '^nest-prisma-tenancy/prisma$':
      '<rootDir>/packages/nest-prisma-tenancy/src/prisma-cli/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/dist/'],
};
