import type { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { TenancyError } from '../../core/errors/tenancy.error';

/** How to mount nestjs-cls, quoted by the errors and warnings below. */
export const MOUNT_CLS_HINT =
  'import ClsModule.forRoot({ global: true, middleware: { mount: true } }) from nestjs-cls once in ' +
  'the root module (or mount its ClsGuard / ClsInterceptor: guard: { mount: true })';

/** Thrown at start-up when `@TenantScoped()` is used but nestjs-cls is not set up in the app. */
export class RequestContextNotMountedError extends TenancyError {
  constructor() {
    super(
      `@TenantScoped() / @Authenticated() need a request context from nestjs-cls, and the app ` +
        `has none: ${MOUNT_CLS_HINT}.`,
    );
  }
}

/** nestjs-cls's internal token of `ClsModule.forRoot()` options (nestjs-cls 6 and 7). */
const CLS_MODULE_OPTIONS = 'ClsModuleOptions';

interface MountOptions {
  middleware?: { mount?: boolean };
  guard?: { mount?: boolean };
  interceptor?: { mount?: boolean };
}

let warned = false;

/**
 * Checks at start-up that nestjs-cls is set up, so that a missing `ClsModule.forRoot()` fails the
 * start instead of every `@TenantScoped()` request. A library must not mount it itself (nestjs-cls
 * recommends the app owns `forRoot`), so it only checks: no ClsModule → error; ClsModule without any
 * automatic mount (the app may mount `ClsMiddleware` by hand) → a warning.
 *
 * @throws RequestContextNotMountedError when `ClsModule.forRoot()` is not imported anywhere.
 */
export function checkRequestContextMounted(moduleRef: ModuleRef, logger: Logger): void {
  let options: MountOptions;
  try {
    options = moduleRef.get<string, MountOptions>(CLS_MODULE_OPTIONS, { strict: false });
  } catch {
    throw new RequestContextNotMountedError();
  }
  const mounted =
    options?.middleware?.mount === true ||
    options?.guard?.mount === true ||
    options?.interceptor?.mount === true;
  if (!mounted && !warned) {
    warned = true;
    logger.warn(
      'ClsModule is imported but mounts neither its middleware, guard nor interceptor; unless ' +
        `the app mounts ClsMiddleware itself, @TenantScoped() requests will fail: ${MOUNT_CLS_HINT}.`,
    );
  }
}
