/**
 * Re-writes bench/RESULTS.md and bench/latency-chart.svg from a saved run, without measuring again
 * (after a change to the document's generator): `npx tsx bench/render-results.ts <run-….json>`.
 * Without an argument, the newest file in bench/results/.
 */
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RESULTS_DIR } from './report';
import { writeResultsDocument, type BenchResults } from './results-document';

async function render(): Promise<void> {
  const file =
    process.argv[2] ??
    resolve(
      RESULTS_DIR,
      (await readdir(RESULTS_DIR))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .at(-1) ?? '',
    );
  const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  console.log((await writeResultsDocument(results, file)).join('\n'));
}

render().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
