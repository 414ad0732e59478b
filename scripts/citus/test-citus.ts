/**
 * `npm run test:citus`: starts a Citus cluster (coordinator + 2 workers, installing Citus from
 * ../shared/citus when missing), applies the migrations on the coordinator, distributes the
 * tables, runs the Jest suites of test/citus against it, and always stops and removes the cluster.
 * Extra arguments go to Jest.
 */
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/database/project-root';
import { startCitusCluster, type CitusCluster } from './citus-cluster';
import { prepareCitusDatabase } from './citus-database';

function runJest(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--config',
        'jest.citus.config.js',
        '--runInBand',
        ...args,
      ],
      { cwd: PROJECT_ROOT, env, stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}

async function main(): Promise<number> {
  const log = (line: string) => console.log(`[citus] ${line}`);
  let cluster: CitusCluster | undefined;
  const stop = async () => {
    await cluster?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().finally(() => process.exit(130));
    });
  }
  try {
    cluster = await startCitusCluster({ log });
    const urls = await prepareCitusDatabase(cluster, { log });
    return await runJest(
      {
        ...process.env,
        NODE_ENV: 'test',
        DIRECT_URL: urls.directUrl,
        DATABASE_URL: urls.databaseUrl,
        SYSTEM_DATABASE_URL: urls.systemDatabaseUrl,
        TEST_DATABASE_NAME: cluster.database,
        CITUS_WORKER_URLS: cluster.workers
          .map((w) => cluster!.urlFor(cluster!.database, 'postgres', undefined, w.port))
          .join(','),
      },
      process.argv.slice(2),
    );
  } finally {
    await stop();
    log('cluster stopped and removed');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
