const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Exactly what TenantSettingSigner produces: `v1.<uuid or empty>.<uuid or empty>.<secs>.<hmac>`. */
const SIGNED_SETTING = new RegExp(
  `^v1\\.(?:${UUID})?\\.(?:${UUID})?\\.[0-9]{1,12}\\.[0-9a-f]{64}$`,
);

/**
 * `SET LOCAL <setting> = '<value>'` for a signed setting value (or the empty, cleared one).
 * `setting` is the configured setting name (`sql.setting`, checked by `resolveSqlNames`).
 *
 * `SET` takes no bind parameter, so the value goes into the query text as a literal. Only a value
 * of the signer's exact shape (lowercase hex, digits, dots and dashes: nothing that could end the
 * literal) is accepted; anything else throws and nothing is sent.
 *
 * @throws Error for a value that is not a signed setting.
 */
export function setLocalSettingSql(setting: string, value: string): string {
  if (value !== '' && !SIGNED_SETTING.test(value)) {
    throw new Error(
      `Refusing to send a tenant setting that is not a signed value (v1.<uuid>.<uuid>.<seconds>.<hex>) in SET LOCAL.`,
    );
  }
  return `SET LOCAL ${setting} = '${value}'`;
}
