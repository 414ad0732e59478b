import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import type { PrismaModuleOptions } from '../interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { resolvePrismaOptions } from '../prisma-options';

/** The verified claims of a bearer token. */
export type VerifiedClaims = JwtPayload & Record<string, unknown>;

/** Thrown at start-up when no key to verify tokens is configured. */
export class MissingJwtKeyError extends Error {
  override name = 'MissingJwtKeyError';
  constructor() {
    super(
      'No key to verify bearer tokens: set JWT_SECRET (HS256, at least 32 characters) and/or ' +
        'JWT_PUBLIC_KEY (RS256, PEM), or pass { jwt: { secret | publicKey } } to PrismaModule.forRoot().',
    );
  }
}

/**
 * Verifies `Authorization: Bearer <JWT>` headers: HS256 with the secret and, when a public key is
 * configured, RS256. The algorithm is taken from the configuration, never trusted from the token:
 * `alg: none` and any other algorithm are rejected, as are tokens without `exp`, expired or not yet
 * valid ones, and (when configured) a wrong `iss` or `aud`. Failures are 401s with a short reason.
 */
@Injectable()
export class TokenVerifier {
  private readonly keys = new Map<Algorithm, string>();
  private readonly options: jwt.VerifyOptions;

  constructor(@Inject(PRISMA_MODULE_OPTIONS) moduleOptions: PrismaModuleOptions) {
    const { jwt: settings } = resolvePrismaOptions(moduleOptions);
    if (settings.secret) this.keys.set('HS256', settings.secret);
    if (settings.publicKey) this.keys.set('RS256', settings.publicKey);
    if (this.keys.size === 0) throw new MissingJwtKeyError();
    this.options = {
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: settings.clockToleranceSeconds,
    };
  }

  /**
   * Verifies the header's token and returns its claims.
   *
   * @throws UnauthorizedException (401) for a missing, malformed, expired or badly signed token.
   */
  verify(authorization: string | undefined): VerifiedClaims {
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(
      authorization?.trim() ?? '',
    );
    if (!match)
      throw new UnauthorizedException('A bearer token is required (Authorization: Bearer <JWT>)');
    const token = match[1];
    const decoded = jwt.decode(token, { complete: true });
    const alg = decoded?.header?.alg as Algorithm | undefined;
    const key = alg ? this.keys.get(alg) : undefined;
    if (!decoded || !alg || !key)
      throw new UnauthorizedException('The token is malformed or uses a disallowed algorithm');
    let claims: string | JwtPayload;
    try {
      claims = jwt.verify(token, key, { ...this.options, algorithms: [alg] });
    } catch (error) {
      const reason =
        error instanceof jwt.TokenExpiredError
          ? 'The token has expired'
          : error instanceof jwt.NotBeforeError
            ? 'The token is not valid yet'
            : 'The token is invalid';
      throw new UnauthorizedException(reason);
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
      throw new UnauthorizedException('The token is invalid');
    }
    if (typeof claims.exp !== 'number')
      throw new UnauthorizedException('The token has no expiry (exp)');
    return claims as VerifiedClaims;
  }
}
