/** A variable that `npm run test:citus` sets for the cluster (URLs, the setting secret). */
export function citusEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through npm run test:citus`);
  return value;
}
