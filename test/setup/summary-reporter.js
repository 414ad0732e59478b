// Writes Jest's own pass/fail counts to .data/test-summary.json, for .ci/run to print.
const { mkdirSync, writeFileSync } = require('node:fs');
const { resolve } = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const dir = resolve(__dirname, '..', '..', '.data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      resolve(dir, 'test-summary.json'),
      JSON.stringify({
        passed: results.numPassedTests,
        failed: results.numFailedTests,
        pending: results.numPendingTests + results.numTodoTests,
        failedSuites: results.numFailedTestSuites,
        runtimeErrorSuites: results.numRuntimeErrorTestSuites,
      }),
    );
  }
}

module.exports = SummaryReporter;
