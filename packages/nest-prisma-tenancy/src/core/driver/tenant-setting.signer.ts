import { createHash, createHmac } from 'node:crypto';
import { InvalidSettingSecretError } from '../errors/invalid-setting-secret.error';

/** Version prefix of the signed tenant setting; the SQL verifier accepts exactly this one. */
export const SETTING_FORMAT = 'v1';

/** Shortest secret accepted for signing the tenant setting. */
export const MIN_SETTING_SECRET_LENGTH = 32;

/** How long a signed value is reused before a fresh one is made (well inside the max age). */
const REUSE_SECONDS = 20;
const CACHE_LIMIT = 10_000;

/**
 * The 32-byte key that signs the tenant setting, derived from the configured secret. PostgreSQL
 * stores this key (never the secret) where the application roles cannot read it.
 */
export function deriveSettingKey(secret: string): Buffer {
  return createHash('sha256')
    .update('nest-prisma-tenancy/setting-key/v1\0')
    .update(secret)
    .digest();
}

/**
 * Signs the value of the tenant setting that Row-Level Security verifies:
 * `v1.<tenant id or empty>.<user id or empty>.<issued at, unix seconds>.<HMAC-SHA256 hex>`.
 *
 * Only code that knows the secret can make a value PostgreSQL accepts, so SQL that runs as the
 * runtime role (an injected raw statement included) cannot claim another workspace by setting
 * the setting (`app.workspace_id` by default, `sql.setting`) itself. The value is sent as a bind
 * parameter, never in query text.
 */
export class TenantSettingSigner {
  /** The derived key, for installing it in the database. */
  readonly key: Buffer;
  private readonly cache = new Map<string, { issued: number; value: string }>();

  /**
   * @throws InvalidSettingSecretError when the secret is shorter than 32 characters.
   */
  constructor(secret: string) {
    if (typeof secret !== 'string' || secret.length < MIN_SETTING_SECRET_LENGTH) {
      throw new InvalidSettingSecretError(
        `it must be at least ${MIN_SETTING_SECRET_LENGTH} characters long`,
      );
    }
    this.key = deriveSettingKey(secret);
  }

  /** The signed setting for this tenant and user (either may be absent). */
  sign(tenantId: string | undefined, userId: string | undefined, nowMs = Date.now()): string {
    const now = Math.floor(nowMs / 1000);
    const cacheKey = `${tenantId ?? ''}.${userId ?? ''}`;
    const cached = this.cache.get(cacheKey);
    if (cached && now - cached.issued >= 0 && now - cached.issued < REUSE_SECONDS) {
      return cached.value;
    }
    const payload = `${SETTING_FORMAT}.${tenantId?.toLowerCase() ?? ''}.${userId?.toLowerCase() ?? ''}.${now}`;
    const value = `${payload}.${createHmac('sha256', this.key).update(payload).digest('hex')}`;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(cacheKey, { issued: now, value });
    return value;
  }
}
