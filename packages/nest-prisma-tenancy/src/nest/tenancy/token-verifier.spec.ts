import { UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import jwt from 'jsonwebtoken';
import type { TenancyJwtOptions } from '../interfaces/prisma-module-options.interface';
import { PRISMA_MODULE_OPTIONS } from '../prisma.module-definition';
import { MissingJwtKeyError, TokenVerifier } from './token-verifier';

const SECRET = 'token-verifier-spec-secret-0123456789-abcdef';
const JWT_ENV = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_ISSUER', 'JWT_AUDIENCE'] as const;

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
const trusted = rsaKeyPair();
const other = rsaKeyPair();

/** A token assembled by hand: any header, HMAC-SHA256 signature with `key` (or none). */
function handMade(header: object, payload: object, key?: string): string {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  return `${unsigned}.${key ? createHmac('sha256', key).update(unsigned).digest('base64url') : ''}`;
}

const claims = () => ({ sub: randomUUID(), workspaceId: randomUUID() });
const hs256 = (payload: object = claims(), options: jwt.SignOptions = {}) =>
  jwt.sign(payload, SECRET, { algorithm: 'HS256', expiresIn: '1h', ...options });

async function verifierWith(jwtOptions: TenancyJwtOptions | undefined): Promise<TokenVerifier> {
  const moduleRef = await Test.createTestingModule({
    providers: [TokenVerifier, { provide: PRISMA_MODULE_OPTIONS, useValue: { jwt: jwtOptions } }],
  }).compile();
  return moduleRef.get(TokenVerifier);
}

/** The 401 `verify` throws, as `{ status, body }`; fails the test when it does not throw. */
async function rejection(verifier: TokenVerifier, authorization: string | undefined) {
  try {
    await verifier.verify(authorization);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedException);
    const http = error as UnauthorizedException;
    return { status: http.getStatus(), body: http.getResponse() };
  }
  throw new Error('verify() accepted the token');
}

const unauthorized = (message: string) => ({
  status: 401,
  body: { statusCode: 401, message, error: 'Unauthorized' },
});
const BEARER_REQUIRED = unauthorized('A bearer token is required (Authorization: Bearer <JWT>)');
const DISALLOWED = unauthorized('The token is malformed or uses a disallowed algorithm');
const INVALID = unauthorized('The token is invalid');

const savedEnv = Object.fromEntries(JWT_ENV.map((name) => [name, process.env[name]]));
beforeEach(() => {
  for (const name of JWT_ENV) delete process.env[name];
});
afterAll(() => {
  for (const name of JWT_ENV) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

describe('configuration', () => {
  it('refuses to be built without any key (MissingJwtKeyError)', async () => {
    await expect(verifierWith(undefined)).rejects.toBeInstanceOf(MissingJwtKeyError);
    await expect(verifierWith({})).rejects.toThrow(
      'No key to verify bearer tokens: set JWT_SECRET (HS256, at least 32 characters) and/or ' +
        'JWT_PUBLIC_KEY (RS256, PEM), or pass { jwt: { secret | publicKey } } to PrismaModule.forRoot().',
    );
  });

  it('falls back to JWT_SECRET from the environment', async () => {
    process.env.JWT_SECRET = SECRET;
    const verifier = await verifierWith(undefined);
    const payload = claims();

    expect(await verifier.verify(`Bearer ${hs256(payload)}`)).toMatchObject(payload);
  });

  it('falls back to JWT_PUBLIC_KEY, with escaped newlines turned into real ones', async () => {
    process.env.JWT_PUBLIC_KEY = trusted.publicKey.replace(/\n/g, '\\n');
    const verifier = await verifierWith(undefined);
    const payload = claims();
    const token = jwt.sign(payload, trusted.privateKey, { algorithm: 'RS256', expiresIn: '1h' });

    expect(await verifier.verify(`Bearer ${token}`)).toMatchObject(payload);
  });

  it('prefers the options over the environment', async () => {
    process.env.JWT_SECRET = 'environment-secret-0123456789-abcdefghijkl';
    const verifier = await verifierWith({ secret: SECRET });

    expect(await verifier.verify(`Bearer ${hs256()}`)).toHaveProperty('sub');
    expect(
      await rejection(
        verifier,
        `Bearer ${jwt.sign(claims(), process.env.JWT_SECRET, { expiresIn: '1h' })}`,
      ),
    ).toEqual(INVALID);
  });
});

describe('with an HS256 secret', () => {
  let verifier: TokenVerifier;

  beforeEach(async () => {
    verifier = await verifierWith({ secret: SECRET });
  });

  it('returns the verified claims of a valid token', async () => {
    const payload = claims();

    const verified = await verifier.verify(`Bearer ${hs256(payload)}`);

    expect(verified).toEqual({ ...payload, iat: expect.any(Number), exp: expect.any(Number) });
    expect(verified.exp! - verified.iat!).toBe(3600);
  });

  it('accepts surrounding whitespace in the header', async () => {
    expect(await verifier.verify(`  Bearer ${hs256()}  `)).toHaveProperty('sub');
  });

  it('accepts the scheme in any case (RFC 7235: auth schemes are case-insensitive)', async () => {
    expect(await verifier.verify(`bearer ${hs256()}`)).toHaveProperty('sub');
    expect(await verifier.verify(`BEARER ${hs256()}`)).toHaveProperty('sub');
    expect(await verifier.verify(`Bearer  ${hs256()}`)).toHaveProperty('sub'); // 1*SP
  });

  it.each<[string, () => string | undefined, ReturnType<typeof unauthorized>]>([
    ['no header', () => undefined, BEARER_REQUIRED],
    ['an empty header', () => '', BEARER_REQUIRED],
    ['the Basic scheme', () => 'Basic dXNlcjpwYXNz', BEARER_REQUIRED],
    ['"Bearer" alone', () => 'Bearer', BEARER_REQUIRED],
    ['garbage', () => 'Bearer %%%', BEARER_REQUIRED],
    [
      'a two-part token',
      () => `Bearer ${hs256().split('.').slice(0, 2).join('.')}`,
      BEARER_REQUIRED,
    ],
    ['a four-part token', () => `Bearer ${hs256()}.extra`, BEARER_REQUIRED],
    ['two tokens', () => `Bearer ${hs256()} ${hs256()}`, BEARER_REQUIRED],
    ['three parts that are not JSON', () => 'Bearer aaa.bbb.ccc', DISALLOWED],
    [
      'another secret',
      () => `Bearer ${jwt.sign(claims(), 'x'.repeat(40), { expiresIn: '1h' })}`,
      INVALID,
    ],
    ['a stripped signature', () => `Bearer ${hs256().split('.').slice(0, 2).join('.')}.`, INVALID],
    [
      'an expired token',
      () => `Bearer ${jwt.sign({ ...claims(), exp: now() - 60 }, SECRET)}`,
      unauthorized('The token has expired'),
    ],
    [
      'a token not valid yet',
      () => `Bearer ${hs256({ ...claims(), nbf: now() + 600 })}`,
      unauthorized('The token is not valid yet'),
    ],
    [
      'no exp',
      () => `Bearer ${jwt.sign(claims(), SECRET)}`,
      unauthorized('The token has no expiry (exp)'),
    ],
    [
      'a string exp',
      () =>
        `Bearer ${handMade({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: String(now() + 600) }, SECRET)}`,
      INVALID,
    ],
    [
      'alg: none',
      () => `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { ...claims(), exp: now() + 600 })}`,
      DISALLOWED,
    ],
    [
      'alg: None',
      () => `Bearer ${handMade({ alg: 'None' }, { ...claims(), exp: now() + 600 })}`,
      DISALLOWED,
    ],
    [
      'no alg',
      () => `Bearer ${handMade({ typ: 'JWT' }, { ...claims(), exp: now() + 600 }, SECRET)}`,
      DISALLOWED,
    ],
    [
      'HS384 with the right secret',
      () => `Bearer ${hs256(claims(), { algorithm: 'HS384' })}`,
      DISALLOWED,
    ],
    [
      'HS512 with the right secret',
      () => `Bearer ${hs256(claims(), { algorithm: 'HS512' })}`,
      DISALLOWED,
    ],
    [
      'RS256 without a public key configured',
      () =>
        `Bearer ${jwt.sign(claims(), trusted.privateKey, { algorithm: 'RS256', expiresIn: '1h' })}`,
      DISALLOWED,
    ],
    ['a string payload', () => `Bearer ${jwt.sign('a string', SECRET)}`, INVALID],
  ])('refuses %s with 401', async (_, header, expected) => {
    expect(await rejection(verifier, header())).toEqual(expected);
  });

  it('tolerates 5 seconds of clock skew by default', async () => {
    const slightlyExpired = jwt.sign({ ...claims(), exp: now() - 2 }, SECRET);
    const slightlyEarly = hs256({ ...claims(), nbf: now() + 2 });

    expect(await verifier.verify(`Bearer ${slightlyExpired}`)).toHaveProperty('sub');
    expect(await verifier.verify(`Bearer ${slightlyEarly}`)).toHaveProperty('sub');
  });

  it('uses clockToleranceSeconds when given', async () => {
    const strict = await verifierWith({ secret: SECRET, clockToleranceSeconds: 0 });
    const lenient = await verifierWith({ secret: SECRET, clockToleranceSeconds: 120 });
    const token = `Bearer ${jwt.sign({ ...claims(), exp: now() - 60 }, SECRET)}`;

    expect(await rejection(strict, token)).toEqual(unauthorized('The token has expired'));
    expect(await lenient.verify(token)).toHaveProperty('sub');
  });

  it('does not check sub or the workspace claim (the guard does)', async () => {
    const verified = await verifier.verify(
      `Bearer ${hs256({ sub: 'not-a-uuid', workspaceId: 42 })}`,
    );

    expect(verified).toMatchObject({ sub: 'not-a-uuid', workspaceId: 42 });
  });
});

describe('with a public key (RS256) and a secret', () => {
  let verifier: TokenVerifier;

  beforeEach(async () => {
    verifier = await verifierWith({ secret: SECRET, publicKey: trusted.publicKey });
  });

  it('accepts RS256 signed by the private key, and HS256 with the secret', async () => {
    const payload = claims();
    const rs = jwt.sign(payload, trusted.privateKey, { algorithm: 'RS256', expiresIn: '1h' });

    expect(await verifier.verify(`Bearer ${rs}`)).toMatchObject(payload);
    expect(await verifier.verify(`Bearer ${hs256(payload)}`)).toMatchObject(payload);
  });

  it('refuses RS256 signed by another key', async () => {
    const token = jwt.sign(claims(), other.privateKey, { algorithm: 'RS256', expiresIn: '1h' });

    expect(await rejection(verifier, `Bearer ${token}`)).toEqual(INVALID);
  });

  it('refuses HS256 whose HMAC key is the public key (algorithm confusion)', async () => {
    const token = handMade(
      { alg: 'HS256', typ: 'JWT' },
      { ...claims(), exp: now() + 600 },
      trusted.publicKey,
    );

    expect(await rejection(verifier, `Bearer ${token}`)).toEqual(INVALID);
  });

  it('refuses RS384, RS512 and PS256 from the right key', async () => {
    for (const algorithm of ['RS384', 'RS512', 'PS256'] as const) {
      const token = jwt.sign(claims(), trusted.privateKey, { algorithm, expiresIn: '1h' });

      expect(await rejection(verifier, `Bearer ${token}`)).toEqual(DISALLOWED);
    }
  });

  it('with only a public key, refuses HS256 tokens', async () => {
    const rsaOnly = await verifierWith({ publicKey: trusted.publicKey });

    expect(await rejection(rsaOnly, `Bearer ${hs256()}`)).toEqual(DISALLOWED);
  });
});

describe('with an issuer and an audience', () => {
  const ISSUER = 'https://issuer.example.test/';
  const AUDIENCE = 'approval-api';
  let verifier: TokenVerifier;

  beforeEach(async () => {
    verifier = await verifierWith({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE });
  });

  it('accepts the right iss and aud (aud may be a list)', async () => {
    expect(
      await verifier.verify(`Bearer ${hs256(claims(), { issuer: ISSUER, audience: AUDIENCE })}`),
    ).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
    });
    expect(
      await verifier.verify(
        `Bearer ${hs256(claims(), { issuer: ISSUER, audience: ['other', AUDIENCE] })}`,
      ),
    ).toMatchObject({ iss: ISSUER });
  });

  it.each<[string, jwt.SignOptions]>([
    ['a wrong iss', { issuer: 'https://evil.example.test/', audience: AUDIENCE }],
    ['a wrong aud', { issuer: ISSUER, audience: 'other' }],
    ['no iss', { audience: AUDIENCE }],
    ['no aud', { issuer: ISSUER }],
  ])('refuses %s', async (_, options) => {
    expect(await rejection(verifier, `Bearer ${hs256(claims(), options)}`)).toEqual(INVALID);
  });

  it('reads JWT_ISSUER and JWT_AUDIENCE from the environment', async () => {
    process.env.JWT_ISSUER = ISSUER;
    process.env.JWT_AUDIENCE = AUDIENCE;
    const fromEnv = await verifierWith({ secret: SECRET });

    expect(
      await rejection(fromEnv, `Bearer ${hs256(claims(), { issuer: 'x', audience: AUDIENCE })}`),
    ).toEqual(INVALID);
    expect(
      await fromEnv.verify(`Bearer ${hs256(claims(), { issuer: ISSUER, audience: AUDIENCE })}`),
    ).toHaveProperty('sub');
  });
});

describe('other algorithms (jose)', () => {
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;
  const sign = (alg: string, key: KeyObject | Uint8Array, payload: JWTPayload = claims()) =>
    new SignJWT(payload).setProtectedHeader({ alg }).setExpirationTime('1h').sign(key);

  it('an EC public key accepts ES256 by default; an Ed25519 key, EdDSA', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const es = await verifierWith({ publicKey: pem(ec.publicKey) });
    const eddsa = await verifierWith({ publicKey: pem(ed.publicKey) });
    const payload = claims();

    await expect(
      es.verify(`Bearer ${await sign('ES256', ec.privateKey, payload)}`),
    ).resolves.toMatchObject(payload);
    await expect(
      eddsa.verify(`Bearer ${await sign('EdDSA', ed.privateKey, payload)}`),
    ).resolves.toMatchObject(payload);
    expect(await rejection(es, `Bearer ${await sign('EdDSA', ed.privateKey)}`)).toEqual(DISALLOWED);
  });

  it('jwt.algorithms opens HS384/HS512 and PS256, and closes the defaults', async () => {
    const verifier = await verifierWith({
      secret: SECRET,
      publicKey: trusted.publicKey,
      algorithms: ['HS512', 'PS256'],
    });
    const secret = new TextEncoder().encode(SECRET);
    const rsa = createPrivateKey(trusted.privateKey);

    await expect(verifier.verify(`Bearer ${await sign('HS512', secret)}`)).resolves.toHaveProperty(
      'sub',
    );
    await expect(verifier.verify(`Bearer ${await sign('PS256', rsa)}`)).resolves.toHaveProperty(
      'sub',
    );
    expect(await rejection(verifier, `Bearer ${hs256()}`)).toEqual(DISALLOWED);
    await expect(verifierWith({ secret: SECRET, algorithms: ['RS256'] })).rejects.toThrow(
      'jwt.algorithms [RS256] matches none of the configured keys',
    );
  });

  it('needs no key when identity comes from the request', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        TokenVerifier,
        { provide: PRISMA_MODULE_OPTIONS, useValue: { auth: { resolve: 'request' } } },
      ],
    }).compile();

    expect(moduleRef.get(TokenVerifier).enabled).toBe(false);
  });
});

describe('with a remote JWKS (jwt.jwksUrl)', () => {
  let server: Server;
  let url: string;
  let fetched = 0;
  let signingKey: KeyLike;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    signingKey = privateKey;
    const jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }],
    };
    server = createServer((_, response) => {
      fetched += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(jwks));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  const es256 = (kid: string, key: KeyLike = signingKey, payload: JWTPayload = claims()) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setExpirationTime('1h')
      .sign(key);

  it('accepts a token signed by a key of the set, and fetches the set once', async () => {
    const verifier = await verifierWith({ jwksUrl: url });
    const payload = claims();

    await expect(
      verifier.verify(`Bearer ${await es256('k1', signingKey, payload)}`),
    ).resolves.toMatchObject(payload);
    await expect(verifier.verify(`Bearer ${await es256('k1')}`)).resolves.toHaveProperty('sub');
    expect(fetched).toBe(1);
  });

  it('refuses an unknown kid and another key with 401', async () => {
    const verifier = await verifierWith({ jwksUrl: url });
    const { privateKey: otherKey } = await generateKeyPair('ES256');

    expect(await rejection(verifier, `Bearer ${await es256('k2')}`)).toEqual(INVALID);
    expect(await rejection(verifier, `Bearer ${await es256('k1', otherKey)}`)).toEqual(INVALID);
    expect(await rejection(verifier, `Bearer ${hs256()}`)).toEqual(DISALLOWED);
  });
});
