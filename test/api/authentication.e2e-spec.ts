import type { INestApplication } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  adminPrisma,
  createTenant,
  createTestApp,
  signToken,
  TEST_JWT_SECRET,
  type TestTenant,
} from '../support/test-app';

const unauthorized = (message: string) => ({ statusCode: 401, message, error: 'Unauthorized' });
const forbidden = (message: string) => ({ statusCode: 403, message, error: 'Forbidden' });

const BEARER_REQUIRED = unauthorized('A bearer token is required (Authorization: Bearer <JWT>)');
const DISALLOWED = unauthorized('The token is malformed or uses a disallowed algorithm');
const INVALID = unauthorized('The token is invalid');
const NO_WORKSPACE = forbidden('The token has no usable tenant claim (workspaceId must be a UUID)');
const NOT_A_MEMBER = forbidden('You are not a member of this tenant');

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT assembled by hand, so that any header (`alg: none`, ...) can be sent. */
function handMade(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret?: string,
) {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  const signature = secret ? createHmac('sha256', secret).update(unsigned).digest('base64url') : '';
  return `${unsigned}.${signature}`;
}

/** An HS256 token with the claims exactly as given (`exp` included), for expiry cases. */
const signExact = (claims: Record<string, unknown>) =>
  jwt.sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256' });

function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

describe('with the default configuration (HS256 secret only)', () => {
  let app: INestApplication;
  let admin: PrismaClient;
  let A: TestTenant;

  const api = () => request(app.getHttpServer());
  const currentWith = (authorization?: string) => {
    const call = api().get('/workspaces/current');
    return authorization === undefined ? call : call.set('authorization', authorization);
  };

  beforeAll(async () => {
    app = await createTestApp({
      JWT_PUBLIC_KEY: undefined,
      JWT_ISSUER: undefined,
      JWT_AUDIENCE: undefined,
    });
    admin = adminPrisma();
    A = await createTenant(app, 'Auth A');
  });

  afterAll(async () => {
    await admin.$disconnect();
    await app.close();
  });

  it('accepts a valid HS256 token (control)', async () => {
    const { status, body } = await currentWith(A.auth);

    expect(status).toBe(200);
    expect(body.id).toBe(A.workspaceId);
  });

  describe('answers 401 with a JSON body for every bad token', () => {
    const rsa = rsaKeyPair();
    const claims = () => ({ sub: A.userId, workspaceId: A.workspaceId });

    const cases: [string, () => string | undefined, object][] = [
      ['no Authorization header', () => undefined, BEARER_REQUIRED],
      ['an empty Authorization header', () => '', BEARER_REQUIRED],
      [
        'the Basic scheme',
        () => `Basic ${Buffer.from('user:pass').toString('base64')}`,
        BEARER_REQUIRED,
      ],
      ['"Bearer" without a token', () => 'Bearer ', BEARER_REQUIRED],
      ['garbage', () => 'Bearer !!!not a token!!!', BEARER_REQUIRED],
      [
        'a token of two parts',
        () => `Bearer ${signToken(claims()).split('.').slice(0, 2).join('.')}`,
        BEARER_REQUIRED,
      ],
      ['three parts that are not JSON', () => 'Bearer abc.def.ghi', DISALLOWED],
      [
        'a token signed with another secret',
        () => `Bearer ${signToken(claims(), {}, 'another-secret-0123456789-abcdefghijklmnop')}`,
        INVALID,
      ],
      [
        'a token with a tampered payload',
        () => {
          const [header, , signature] = signToken(claims()).split('.');
          return `Bearer ${header}.${base64url({ ...claims(), sub: randomUUID(), exp: now() + 600 })}.${signature}`;
        },
        INVALID,
      ],
      [
        'an expired token',
        () => `Bearer ${signExact({ ...claims(), exp: now() - 60 })}`,
        unauthorized('The token has expired'),
      ],
      [
        'a token not valid yet (nbf in the future)',
        () => `Bearer ${signToken({ ...claims(), nbf: now() + 600 })}`,
        unauthorized('The token is not valid yet'),
      ],
      [
        'a token without exp',
        () => `Bearer ${jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS256' })}`,
        unauthorized('The token has no expiry (exp)'),
      ],
      [
        'alg: none (unsigned)',
        () => `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { ...claims(), exp: now() + 600 })}`,
        DISALLOWED,
      ],
      [
        'alg: none with a valid HS256 signature',
        () =>
          `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { ...claims(), exp: now() + 600 }, TEST_JWT_SECRET)}`,
        DISALLOWED,
      ],
      [
        'HS512 with the right secret',
        () => `Bearer ${signToken(claims(), { algorithm: 'HS512' })}`,
        DISALLOWED,
      ],
      [
        'HS384 with the right secret',
        () => `Bearer ${signToken(claims(), { algorithm: 'HS384' })}`,
        DISALLOWED,
      ],
      [
        'RS256 while no public key is configured',
        () =>
          `Bearer ${jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', expiresIn: '1h' })}`,
        DISALLOWED,
      ],
      [
        'a sub that is not a UUID',
        () => `Bearer ${signToken({ sub: 'alice', workspaceId: A.workspaceId })}`,
        unauthorized('The token has no valid subject (sub)'),
      ],
      [
        'a numeric sub',
        () => `Bearer ${signToken({ sub: 42 as unknown as string, workspaceId: A.workspaceId })}`,
        unauthorized('The token has no valid subject (sub)'),
      ],
      [
        'no sub',
        () =>
          `Bearer ${jwt.sign({ workspaceId: A.workspaceId }, TEST_JWT_SECRET, { expiresIn: '1h' })}`,
        unauthorized('The token has no valid subject (sub)'),
      ],
      ['a string payload', () => `Bearer ${jwt.sign('just a string', TEST_JWT_SECRET)}`, INVALID],
    ];

    it.each(cases)('%s, on a tenant route', async (_, authorization, expected) => {
      const { status, body, headers } = await currentWith(authorization());

      expect({ status, body }).toEqual({ status: 401, body: expected });
      expect(headers['content-type']).toMatch(/^application\/json/);
    });

    it.each(cases)(
      '%s, on POST /workspaces (nothing is created)',
      async (_, authorization, expected) => {
        const before = await admin.workspace.count();
        const call = api().post('/workspaces');
        const auth = authorization();
        const { status, body } = await (
          auth === undefined ? call : call.set('authorization', auth)
        ).send({
          name: 'Never',
        });

        expect({ status, body }).toEqual({ status: 401, body: expected });
        expect(await admin.workspace.count()).toBe(before);
      },
    );
  });

  it('tolerates 5 s of clock skew on exp, and no more', async () => {
    const withinSkew = await currentWith(
      `Bearer ${signExact({ sub: A.userId, workspaceId: A.workspaceId, exp: now() - 2 })}`,
    );
    const beyondSkew = await currentWith(
      `Bearer ${signExact({ sub: A.userId, workspaceId: A.workspaceId, exp: now() - 30 })}`,
    );

    expect(withinSkew.status).toBe(200);
    expect({ status: beyondSkew.status, body: beyondSkew.body }).toEqual({
      status: 401,
      body: unauthorized('The token has expired'),
    });
  });

  it('accepts an upper-case sub and workspaceId (they are UUIDs)', async () => {
    const { status, body } = await currentWith(
      `Bearer ${signToken({ sub: A.userId.toUpperCase(), workspaceId: A.workspaceId.toUpperCase() })}`,
    );

    expect(status).toBe(200);
    expect(body.id).toBe(A.workspaceId);
  });

  describe('a valid token without a usable workspace claim answers 403 on a tenant route', () => {
    it.each<[string, Record<string, unknown>]>([
      ['no workspaceId', {}],
      ['a number', { workspaceId: 42 }],
      ['an array', { workspaceId: ['00000000-0000-4000-8000-000000000000'] }],
      ['an object', { workspaceId: { id: '00000000-0000-4000-8000-000000000000' } }],
      ['an empty string', { workspaceId: '' }],
      ['"not-a-uuid"', { workspaceId: 'not-a-uuid' }],
      ['null', { workspaceId: null }],
      ['a UUID with trailing text', { workspaceId: '00000000-0000-4000-8000-000000000000 OR 1=1' }],
    ])('%s', async (_, extra) => {
      const { status, body } = await currentWith(
        `Bearer ${signToken({ sub: A.userId, ...extra })}`,
      );

      expect({ status, body }).toEqual({ status: 403, body: NO_WORKSPACE });
    });

    it('also on the approval items', async () => {
      const { status, body } = await api()
        .get('/approval-items')
        .set('authorization', `Bearer ${signToken({ sub: A.userId })}`);

      expect({ status, body }).toEqual({ status: 403, body: NO_WORKSPACE });
    });
  });

  it('POST /workspaces works with a token without workspace claim', async () => {
    const userId = randomUUID();

    const { status, body } = await api()
      .post('/workspaces')
      .set('authorization', `Bearer ${signToken({ sub: userId })}`)
      .send({ name: 'No claim needed' });

    expect(status).toBe(201);
    expect(body).toMatchObject({ name: 'No claim needed', role: 'OWNER' });
  });

  it('refuses a removed member on the next request (403), with a token issued before', async () => {
    const tenant = await createTenant(app, 'Soon without owner');
    const member = await admin.user.create({ data: { email: `${randomUUID()}@removed.invalid` } });
    await admin.workspaceMember.create({
      data: { workspaceId: tenant.workspaceId, userId: member.id },
    });
    const token = `Bearer ${signToken({ sub: member.id, workspaceId: tenant.workspaceId })}`;
    const item = await api()
      .post('/approval-items')
      .set('authorization', tenant.auth)
      .send({ title: 'Kept' });

    const before = await currentWith(token);
    expect(before.status).toBe(200);

    await admin.workspaceMember.deleteMany({
      where: { workspaceId: tenant.workspaceId, userId: member.id },
    });

    const after = [
      await currentWith(token),
      await api().get('/approval-items').set('authorization', token),
      await api()
        .get(`/approval-items/${item.body.id as string}`)
        .set('authorization', token),
      await api().post('/approval-items').set('authorization', token).send({ title: 'x' }),
      await api()
        .patch(`/approval-items/${item.body.id as string}`)
        .set('authorization', token)
        .send({ title: 'x' }),
      await api()
        .delete(`/approval-items/${item.body.id as string}`)
        .set('authorization', token),
    ];
    expect(after.map(({ status, body }) => ({ status, body }))).toEqual(
      Array(6).fill({ status: 403, body: NOT_A_MEMBER }),
    );
    const row = await admin.approvalItem.findUniqueOrThrow({
      where: { workspaceId_id: { workspaceId: tenant.workspaceId, id: item.body.id as string } },
    });
    expect(row.title).toBe('Kept');
    expect(await admin.approvalItem.count({ where: { workspaceId: tenant.workspaceId } })).toBe(1);
  });
});

describe('with JWT_PUBLIC_KEY set (RS256 accepted too)', () => {
  const trusted = rsaKeyPair();
  const other = rsaKeyPair();
  let app: INestApplication;
  let A: TestTenant;

  beforeAll(async () => {
    app = await createTestApp({
      JWT_PUBLIC_KEY: trusted.publicKey,
      JWT_ISSUER: undefined,
      JWT_AUDIENCE: undefined,
    });
    A = await createTenant(app, 'RSA A');
  });

  afterAll(async () => {
    await app.close();
  });

  const current = (token: string) =>
    request(app.getHttpServer()).get('/workspaces/current').set('authorization', `Bearer ${token}`);

  it('accepts an RS256 token signed by the configured key', async () => {
    const token = jwt.sign({ sub: A.userId, workspaceId: A.workspaceId }, trusted.privateKey, {
      algorithm: 'RS256',
      expiresIn: '1h',
    });

    const { status, body } = await current(token);

    expect(status).toBe(200);
    expect(body.id).toBe(A.workspaceId);
  });

  it('still accepts HS256 tokens with the secret', async () => {
    const { status } = await current(signToken({ sub: A.userId, workspaceId: A.workspaceId }));

    expect(status).toBe(200);
  });

  it('refuses an RS256 token signed by another key (401)', async () => {
    const token = jwt.sign({ sub: A.userId, workspaceId: A.workspaceId }, other.privateKey, {
      algorithm: 'RS256',
      expiresIn: '1h',
    });

    const { status, body } = await current(token);

    expect({ status, body }).toEqual({ status: 401, body: INVALID });
  });

  it('refuses an HS256 token whose HMAC key is the public key (algorithm confusion, 401)', async () => {
    const token = handMade(
      { alg: 'HS256', typ: 'JWT' },
      { sub: A.userId, workspaceId: A.workspaceId, exp: now() + 600 },
      trusted.publicKey,
    );

    const { status, body } = await current(token);

    expect({ status, body }).toEqual({ status: 401, body: INVALID });
  });

  it('refuses RS512 and PS256 tokens from the configured key (401)', async () => {
    const claims = { sub: A.userId, workspaceId: A.workspaceId };
    const rs512 = jwt.sign(claims, trusted.privateKey, { algorithm: 'RS512', expiresIn: '1h' });
    const ps256 = jwt.sign(claims, trusted.privateKey, { algorithm: 'PS256', expiresIn: '1h' });

    const responses = [await current(rs512), await current(ps256)];

    expect(responses.map(({ status, body }) => ({ status, body }))).toEqual([
      { status: 401, body: DISALLOWED },
      { status: 401, body: DISALLOWED },
    ]);
  });
});

describe('with JWT_ISSUER and JWT_AUDIENCE set', () => {
  const ISSUER = 'https://issuer.example.test/';
  const AUDIENCE = 'approval-api';
  let app: INestApplication;
  let A: TestTenant;

  const sign = (options: jwt.SignOptions) =>
    `Bearer ${signToken({ sub: A.userId, workspaceId: A.workspaceId }, options)}`;
  const current = (authorization: string) =>
    request(app.getHttpServer()).get('/workspaces/current').set('authorization', authorization);

  beforeAll(async () => {
    app = await createTestApp({
      JWT_PUBLIC_KEY: undefined,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    // createTenant signs without iss/aud, which this app refuses: create the workspace by hand.
    const userId = randomUUID();
    const created = await request(app.getHttpServer())
      .post('/workspaces')
      .set(
        'authorization',
        `Bearer ${signToken({ sub: userId }, { issuer: ISSUER, audience: AUDIENCE })}`,
      )
      .send({ name: 'Issuer A' });
    expect(created.status).toBe(201);
    A = { userId, workspaceId: created.body.id as string, auth: '' };
  });

  afterAll(async () => {
    await app.close();
    delete process.env.JWT_ISSUER;
    delete process.env.JWT_AUDIENCE;
  });

  it('accepts the right iss and aud', async () => {
    const { status, body } = await current(sign({ issuer: ISSUER, audience: AUDIENCE }));

    expect(status).toBe(200);
    expect(body.id).toBe(A.workspaceId);
  });

  it.each<[string, jwt.SignOptions]>([
    ['a wrong iss', { issuer: 'https://evil.example.test/', audience: AUDIENCE }],
    ['a wrong aud', { issuer: ISSUER, audience: 'another-api' }],
    ['no iss', { audience: AUDIENCE }],
    ['no aud', { issuer: ISSUER }],
  ])('refuses %s (401)', async (_, options) => {
    const { status, body } = await current(sign(options));

    expect({ status, body }).toEqual({ status: 401, body: INVALID });
  });
});
