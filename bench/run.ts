/**
 * Entry point of `npm run bench` (`tsx bench/run.ts`); the benchmark itself is bench/main.ts.
 *
 * The project's files must be compiled with decorator metadata for Nest (see
 * decorator-metadata.ts), so the hook is installed before any of them is loaded, and main.ts is
 * required only afterwards.
 */
import { createRequire } from 'node:module';
import { compileWithDecoratorMetadata } from './decorator-metadata';

compileWithDecoratorMetadata();
const load = createRequire(__filename);
const { main } = load('./main.ts') as typeof import('./main');

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
