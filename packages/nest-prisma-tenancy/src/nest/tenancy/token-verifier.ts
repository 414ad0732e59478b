import { Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import '../interfaces/tenancy-auth-options.interface';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { InvalidPrismaModuleOptionsError, resolvePrismaOptions } from '../prisma-options';

/** The verified claims of a bearer token. */
export type VerifiedClaims = JWTPayload & Record<string, unknown>;

/** Thrown at start-up when tokens are to be verified (`auth.resolve: 'token'`) without a key. */
export class MissingJwtKeyError extends Error {
  override name = 'MissingJwtKeyError';
  constructor() {
    super(
      'No key to verify bearer tokens: set JWT_SECRET (HS256, at least 32 characters) and/or ' +
        'JWT_PUBLIC_KEY (RS256, PEM), or pass { jwt: { secret | publicKey } } to PrismaModule.forRoot().',
    );
  }
}

const HMAC = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC = ['ES256', 'ES384', 'ES512'];
const ASYMMETRIC = [...RSA, ...EC, 'EdDSA'];
const EC_CURVE_ALGORITHM: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** The algorithms a public key can verify, and the one accepted by default. */
function publicKeyAlgorithms(key: KeyObject): { possible: string[]; defaults: string[] } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { possible: RSA, defaults: ['RS256'] };
    case 'rsa-pss':
      return { possible: RSA.filter((a) => a.startsWith('PS')), defaults: ['PS256'] };
    case 'ec': {
      const alg = EC_CURVE_ALGORITHM[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return alg ? { possible: [alg], defaults: [alg] } : { possible: [], defaults: [] };
    }
    case 'ed25519':
    case 'ed448':
      return { possible: ['EdDSA'], defaults: ['EdDSA'] };
    default:
      return { possible: [], defaults: [] };
  }
}

/**
 * Verifies `Authorization: Bearer <JWT>` headers with `jose`: HS256/384/512 with the secret,
 * RS*, PS*, ES* or EdDSA with a public key or a remote JWKS (`jwt.jwksUrl`). The accepted
 * algorithms come from the configuration, never from the token: `alg: none` and any algorithm not
 * configured are rejected, as are tokens without `exp`, expired or not yet valid ones, and (when
 * configured) a wrong `iss` or `aud`. Failures are 401s with a short reason.
 *
 * Used when `auth.resolve` is `'token'` (the default); otherwise it needs no key.
 */
@Injectable()
export class TokenVerifier {
  private readonly logger = new Logger('TokenVerifier');
  /** Algorithm → the key that verifies it. */
  private readonly keys = new Map<string, Uint8Array | KeyObject | JWTVerifyGetKey>();
  private readonly issuer: string | undefined;
  private readonly audience: string | undefined;
  private readonly clockTolerance: number;
  /** Whether this verifier is in use (`auth.resolve: 'token'`). */
  readonly enabled: boolean;

  constructor(@Inject(PRISMA_MODULE_OPTIONS) moduleOptions: PrismaModuleOptions) {
    const { jwt: settings } = resolvePrismaOptions(moduleOptions);
    this.issuer = settings.issuer;
    this.audience = settings.audience;
    this.clockTolerance = settings.clockToleranceSeconds;
    this.enabled = (moduleOptions.auth?.resolve ?? 'token') === 'token';
    if (!this.enabled) return;

    const wanted = moduleOptions.jwt?.algorithms;
    const jwksUrl = moduleOptions.jwt?.jwksUrl ?? process.env.JWT_JWKS_URL;
    const add = (
      possible: string[],
      defaults: string[],
      key: Uint8Array | KeyObject | JWTVerifyGetKey,
    ) => {
      for (const alg of wanted ? possible.filter((a) => wanted.includes(a)) : defaults) {
        if (!this.keys.has(alg)) this.keys.set(alg, key);
      }
    };
    if (settings.secret) add(HMAC, ['HS256'], new TextEncoder().encode(settings.secret));
    if (settings.publicKey) {
      let key: KeyObject;
      try {
        key = createPublicKey(settings.publicKey);
      } catch {
        throw new InvalidPrismaModuleOptionsError(
          'jwt.publicKey (or JWT_PUBLIC_KEY) is not a readable public key: pass a PEM ' +
            '("-----BEGIN PUBLIC KEY-----..."), or use jwt.jwksUrl for a key set.',
        );
      }
      const { possible, defaults } = publicKeyAlgorithms(key);
      add(possible, defaults, key);
    }
    if (jwksUrl) {
      let url: URL;
      try {
        url = new URL(jwksUrl);
      } catch {
        throw new InvalidPrismaModuleOptionsError(
          `jwt.jwksUrl (or JWT_JWKS_URL) is not a URL: ${jwksUrl}`,
        );
      }
      add(ASYMMETRIC, ASYMMETRIC, createRemoteJWKSet(url));
    }
    if (this.keys.size === 0) {
      if (wanted && (settings.secret || settings.publicKey || jwksUrl)) {
        throw new InvalidPrismaModuleOptionsError(
          `jwt.algorithms [${wanted.join(', ')}] matches none of the configured keys: list ` +
            'algorithms the secret (HS*), public key or JWKS can verify.',
        );
      }
      throw new MissingJwtKeyError();
    }
  }

  /**
   * Verifies the header's token and returns its claims.
   *
   * @throws UnauthorizedException (401) for a missing, malformed, expired or badly signed token.
   */
  async verify(authorization: string | undefined): Promise<VerifiedClaims> {
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(
      authorization?.trim() ?? '',
    );
    if (!match)
      throw new UnauthorizedException('A bearer token is required (Authorization: Bearer <JWT>)');
    const token = match[1];
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      alg = undefined;
    }
    const key = typeof alg === 'string' ? this.keys.get(alg) : undefined;
    if (typeof alg !== 'string' || !key)
      throw new UnauthorizedException('The token is malformed or uses a disallowed algorithm');
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms: [alg],
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp'],
      });
      return payload as VerifiedClaims;
    } catch (error) {
      throw new UnauthorizedException(this.reason(error));
    }
  }

  private reason(error: unknown): string {
    if (error instanceof errors.JWTExpired) return 'The token has expired';
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'nbf' && error.reason === 'check_failed')
        return 'The token is not valid yet';
      if (error.claim === 'exp' && error.reason === 'missing')
        return 'The token has no expiry (exp)';
    }
    if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
      // The key set could not be fetched: the caller is refused (fail closed), the operator told.
      this.logger.warn(`Token verification failed: ${String(error)}`);
    }
    return 'The token is invalid';
  }
}
