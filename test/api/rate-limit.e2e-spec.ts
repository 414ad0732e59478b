import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { createTenant, signToken, TEST_JWT_SECRET, type TestTenant } from '../support/test-app';

/**
 * The demo app's rate limit (@nestjs/throttler, global guard): per client address and route, at
 * most THROTTLE_LIMIT requests per THROTTLE_TTL_MS, then 429 with `Retry-After` and Nest's JSON
 * error body. It runs before the tenancy guard of `@TenantScoped()`: a refused request is refused
 * whatever its token, and costs no token verification and no membership query.
 */

const LIMIT = 3;
const TTL_MS = 60_000;
const TOO_MANY = {
  message: 'Too many requests; try again shortly',
  error: 'Too Many Requests',
  statusCode: 429,
};

/** The demo app as createTestApp builds it, with AppModule's own options. */
async function createApp(throttle: { limit: number; ttlMs: number } | false) {
  process.env.JWT_SECRET = TEST_JWT_SECRET;
  process.env.NODE_ENV = 'test';
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({}, { throttle })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}

describe(`rate limit of ${LIMIT} requests per ${TTL_MS / 1000} s`, () => {
  let app: INestApplication;
  let tenant: TestTenant;

  beforeAll(async () => {
    app = await createApp({ limit: LIMIT, ttlMs: TTL_MS });
    tenant = await createTenant(app, 'Throttled');
  });

  afterAll(async () => {
    await app.close();
  });

  it(`answers the first ${LIMIT} requests of a route, then 429 with Retry-After and the exact JSON body`, async () => {
    const replies = [];
    for (let i = 0; i <= LIMIT; i++) {
      replies.push(
        await request(app.getHttpServer()).get('/approval-items').set('authorization', tenant.auth),
      );
    }

    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(replies.slice(0, LIMIT).map((r) => r.headers['x-ratelimit-remaining'])).toEqual([
      '2',
      '1',
      '0',
    ]);
    const refused = replies[LIMIT];
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.body).toEqual(TOO_MANY);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(TTL_MS / 1000 - 5);
    expect(retryAfter).toBeLessThanOrEqual(TTL_MS / 1000);
  });

  it('refuses before the tenancy guard: no token, a bad token and a foreign token all get 429', async () => {
    const stranger = signToken({ sub: randomUUID(), workspaceId: randomUUID() });
    const replies = [
      await request(app.getHttpServer()).get('/approval-items'),
      await request(app.getHttpServer())
        .get('/approval-items')
        .set('authorization', 'Bearer not-a-token'),
      await request(app.getHttpServer())
        .get('/approval-items')
        .set('authorization', `Bearer ${stranger}`),
    ];

    expect(replies.map((r) => ({ status: r.status, body: r.body as unknown }))).toEqual(
      replies.map(() => ({ status: 429, body: TOO_MANY })),
    );
    expect(replies.every((r) => Number(r.headers['retry-after']) > 0)).toBe(true);
  });

  it('counts each route on its own: GET /workspaces/current is still served', async () => {
    const { status, body } = await request(app.getHttpServer())
      .get('/workspaces/current')
      .set('authorization', tenant.auth);

    expect(status).toBe(200);
    expect((body as { id: string }).id).toBe(tenant.workspaceId);
  });
});

describe('rate limit turned off (AppModule.forRoot(..., { throttle: false }))', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await createApp(false);
  });

  afterAll(async () => {
    await app.close();
  });

  it(`serves more than ${LIMIT * 10} requests of one route, without rate-limit headers`, async () => {
    const statuses: number[] = [];
    let headers = 0;
    for (let i = 0; i < LIMIT * 10 + 1; i++) {
      const reply = await request(app.getHttpServer()).get('/health');
      statuses.push(reply.status);
      if (reply.headers['x-ratelimit-limit'] !== undefined) headers++;
    }

    expect({ statuses: [...new Set(statuses)], headers }).toEqual({ statuses: [200], headers: 0 });
  });
});
