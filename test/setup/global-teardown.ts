import type { TestGlobals } from './test-database';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as TestGlobals).__EMBEDDED_POSTGRES__?.stop();
}
