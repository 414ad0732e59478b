// @ts-check
const base = require('./jest.config.js');
const [unit, e2e] = base.projects;

/**
 * The suites of the "same proofs on Citus": the isolation kit, the API contract, the concurrency
 * (load) suites, unchanged, on the cluster's database.
 */
const SHARED_E2E_SUITES = [
  '<rootDir>/test/isolation/isolation-kit.e2e-spec.ts',
  '<rootDir>/test/isolation/tenant-client.property.e2e-spec.ts',
  '<rootDir>/test/api/**/*.e2e-spec.ts',
  '<rootDir>/test/load/**/*.e2e-spec.ts',
];

/**
 * `npm run test:citus`: the suites in test/citus and the shared e2e suites above against a 3-node
 * Citus cluster that scripts/citus/test-citus.ts starts, migrates and distributes first (it sets
 * DIRECT_URL, DATABASE_URL, SYSTEM_DATABASE_URL, TEST_DATABASE_NAME and TENANT_SETTING_SECRET), and
 * removes afterwards. No global setup: the cluster's database is the test database.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'citus',
      testEnvironment: 'node',
      rootDir: '.',
      roots: ['<rootDir>/test/citus'],
      testMatch: ['**/*.citus-spec.ts'],
      transform: unit.transform,
      moduleNameMapper: unit.moduleNameMapper,
      modulePathIgnorePatterns: unit.modulePathIgnorePatterns,
    },
    {
      displayName: 'citus-e2e',
      testEnvironment: 'node',
      rootDir: '.',
      roots: ['<rootDir>/test'],
      testMatch: SHARED_E2E_SUITES,
      transform: e2e.transform,
      moduleNameMapper: e2e.moduleNameMapper,
      modulePathIgnorePatterns: e2e.modulePathIgnorePatterns,
    },
  ],
};
