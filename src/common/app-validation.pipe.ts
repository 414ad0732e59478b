import {
  type ArgumentMetadata,
  BadRequestException,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';

/** Deepest nesting of objects and arrays accepted in a body, query or param. */
export const MAX_INPUT_DEPTH = 32;

/** True when `value` nests objects/arrays deeper than `max` levels (iterative: no recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Nest's ValidationPipe with the demo's settings (unknown properties are a 400, payloads are
 * transformed to their DTO classes) that first refuses input nested more than MAX_INPUT_DEPTH
 * levels: class-transformer and the pipe walk input recursively, and a small but deeply nested JSON
 * body (about 1,300 levels fit in 3 kB) would otherwise overflow the stack and answer 500.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions = {}) {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true, ...options });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (nestedDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw new BadRequestException(
        `The input is nested too deeply (over ${MAX_INPUT_DEPTH} levels)`,
      );
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}
