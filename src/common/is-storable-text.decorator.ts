import { ValidateBy, type ValidationOptions } from 'class-validator';

const NUL = String.fromCharCode(0);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for a string PostgreSQL can store as text: no NUL character, no unpaired UTF-16 surrogate. */
export function isStorableText(value: unknown): boolean {
  return typeof value === 'string' && !value.includes(NUL) && !LONE_SURROGATE.test(value);
}

/** Validates that a string has no NUL character and no unpaired surrogate (a 400, not a 500). */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableText',
      validator: {
        // Non-strings are @IsString()'s to report.
        validate: (value) => typeof value !== 'string' || isStorableText(value),
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must not contain NUL characters or unpaired surrogates`,
      },
    },
    options,
  );
}
