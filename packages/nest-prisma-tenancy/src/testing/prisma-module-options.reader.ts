import type { DynamicModule, ForwardReference, Type } from '@nestjs/common';
import type { PrismaModuleOptions } from '../nest/interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from '../nest/prisma.module-definition';
import { IsolationKitOptionsError } from './isolation-kit-options.error';

/** A Nest module as `imports` lists it: a class, a dynamic module, or a forward reference. */
export type NestModuleRef = Type | DynamicModule | ForwardReference | Promise<DynamicModule>;

/** Nest's module metadata key of `@Module({ imports })` (MODULE_METADATA.IMPORTS). */
const IMPORTS = 'imports';

interface OptionsProvider {
  provide: unknown;
  useValue?: unknown;
  useFactory?: unknown;
  useClass?: unknown;
}

const nameOf = (ref: unknown): string => {
  if (typeof ref === 'function') return ref.name || '(anonymous module)';
  const module = (ref as { module?: { name?: string } } | null)?.module;
  return module?.name ? `${module.name} (dynamic)` : 'the module';
};

/**
 * The options of the `PrismaModule.forRoot()` registration that `root` imports (directly or
 * through its imports), read from Nest's module metadata without building the module, so the
 * isolation kit can list the tenant models when the test framework collects the tests.
 *
 * @param root The module to search.
 * @param whenAsync What to do with a `forRootAsync()` registration, whose options exist only once
 *   the app is built: `'throw'` (default), or `'skip'` to answer `undefined`.
 * @throws IsolationKitOptionsError when `root` imports no PrismaModule, imports it more than
 *   once, or (by default) registers it with `forRootAsync()`.
 */
export function readPrismaModuleOptions(
  root: NestModuleRef,
  whenAsync: 'throw' | 'skip' = 'throw',
): PrismaModuleOptions | undefined {
  const found: OptionsProvider[] = [];
  const seen = new Set<unknown>();
  let asyncImports = 0;
  const getMetadata = (Reflect as { getMetadata?: (key: string, target: object) => unknown })
    .getMetadata;
  if (typeof getMetadata !== 'function') {
    throw new IsolationKitOptionsError(
      "The isolation kit reads the app's module metadata, which needs reflect-metadata: add " +
        "`import 'reflect-metadata';` at the top of the spec (Nest apps load it in main.ts).",
    );
  }
  const visit = (ref: unknown): void => {
    if (ref === null || ref === undefined || seen.has(ref)) return;
    seen.add(ref);
    if (typeof ref === 'object' && typeof (ref as ForwardReference).forwardRef === 'function') {
      visit((ref as { forwardRef: () => unknown }).forwardRef());
      return;
    }
    if (typeof (ref as Promise<unknown>).then === 'function') {
      asyncImports += 1;
      return;
    }
    if (typeof ref === 'function') {
      const imports = getMetadata.call(Reflect, IMPORTS, ref);
      for (const entry of Array.isArray(imports) ? imports : []) visit(entry);
      return;
    }
    const dynamic = ref as Partial<DynamicModule>;
    for (const provider of (dynamic.providers ?? []) as unknown[]) {
      if (
        typeof provider === 'object' &&
        provider !== null &&
        (provider as OptionsProvider).provide === PRISMA_MODULE_OPTIONS
      ) {
        found.push(provider as OptionsProvider);
      }
    }
    visit(dynamic.module);
    for (const entry of dynamic.imports ?? []) visit(entry);
  };
  visit(root);

  const where = nameOf(root);
  if (found.length === 0) {
    throw new IsolationKitOptionsError(
      `The isolation kit found no PrismaModule.forRoot() in ${where} or its imports` +
        (asyncImports > 0 ? ` (${asyncImports} asynchronous import(s) cannot be read)` : '') +
        ': pass the module that imports PrismaModule (module: AppModule, or AppModule.forRoot() ' +
        'when it is a dynamic module), or pass the options to the kit itself ({ client: ' +
        'PrismaClient, tenantField, ... }).',
    );
  }
  if (found.length > 1) {
    throw new IsolationKitOptionsError(
      `The isolation kit found ${found.length} PrismaModule registrations in ${where}: pass the ` +
        'module of the one under test, or the options to the kit itself ({ client: PrismaClient, ' +
        'tenantField, ... }).',
    );
  }
  const [provider] = found;
  if (!('useValue' in provider)) {
    if (whenAsync === 'skip') return undefined;
    throw new IsolationKitOptionsError(
      `${where} registers PrismaModule with forRootAsync(): its options exist only once the app ` +
        'is built, after the test framework has collected the tests. Pass to ' +
        'describeTenantIsolation() what it needs to list the tenant models, { client: ' +
        'PrismaClient } (your generated class) and tenantField / tenantModels / tenantRootModel ' +
        'when they are not the defaults; with app: () => app the kit checks them against the ' +
        "app's options when it opens.",
    );
  }
  return (provider.useValue ?? {}) as PrismaModuleOptions;
}
