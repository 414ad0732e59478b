/**
 * Starts a throw-away Citus cluster (coordinator + 2 workers), applies the migrations, distributes
 * the tables, prints the URLs and keeps running until Ctrl+C, then removes everything.
 *
 *   tsx scripts/citus/up.ts
 */
import { prepareCitusDatabase } from './citus-database';
import { startCitusCluster } from './citus-cluster';

async function main(): Promise<void> {
  const cluster = await startCitusCluster({ log: (line) => console.log(line) });
  const stop = () => {
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const urls = await prepareCitusDatabase(cluster, { log: (line) => console.log(line) });
    console.log(JSON.stringify(urls, null, 2));
    console.log('Running; Ctrl+C (or SIGTERM) stops and removes the cluster.');
  } catch (error) {
    console.error(error);
    console.log('Left running for inspection; Ctrl+C (or SIGTERM) stops and removes the cluster.');
  }
  setInterval(() => undefined, 1 << 30);
}

void main();
