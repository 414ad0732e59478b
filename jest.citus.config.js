// @ts-check
const base = require('./jest.config.js');
const [unit] = base.projects;

/**
 * `npm run test:citus`: the suites in test/citus against a 3-node Citus cluster that
 * scripts/citus/test-citus.ts starts, migrates and distributes first (it sets DIRECT_URL,
 * DATABASE_URL, SYSTEM_DATABASE_URL and TENANT_SETTING_SECRET), and removes afterwards.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 60_000,
  displayName: 'citus',
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/test/citus'],
  testMatch: ['**/*.citus-spec.ts'],
  transform: unit.transform,
  moduleNameMapper: unit.moduleNameMapper,
  modulePathIgnorePatterns: unit.modulePathIgnorePatterns,
};
