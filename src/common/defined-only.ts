/**
 * The object without its `undefined` properties. The schema enables `strictUndefinedChecks`, so
 * Prisma rejects an explicit `undefined` (which would otherwise silently mean "no filter").
 */
export function definedOnly<T extends object>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
