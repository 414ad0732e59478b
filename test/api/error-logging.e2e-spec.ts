import type { INestApplication, LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createTenant, createTestApp, signToken, type TestTenant } from '../support/test-app';

/** Every line the app logged, with its level; the `stack` argument Nest passes with an error. */
interface Line {
  level: string;
  message: string;
  rest: unknown[];
}

const lines: Line[] = [];

function capturingLogger(): LoggerService {
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]): void =>
      void lines.push({ level, message: String(message), rest });
  return {
    log: at('log'),
    error: at('error'),
    warn: at('warn'),
    debug: at('debug'),
    verbose: at('verbose'),
    fatal: at('fatal'),
  };
}

/** Error and warning lines, and any line that carries a stack frame. */
const loud = () =>
  lines.filter(
    ({ level, message, rest }) =>
      level === 'error' ||
      level === 'fatal' ||
      level === 'warn' ||
      /\n\s+at /.test(message) ||
      rest.some((part) => typeof part === 'string' && /\n\s+at /.test(part)),
  );

let app: INestApplication;
let tenant: TestTenant;

beforeAll(async () => {
  app = await createTestApp();
  // Prisma's error events go through Nest's Logger too (PrismaModule's default log levels).
  app.useLogger(capturingLogger());
  tenant = await createTenant(app, 'Error logging');
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  lines.length = 0;
});

describe('expected client errors are answered without error lines or stacks in the log', () => {
  it('a missing record (Prisma P2025) on update and delete: 404, nothing logged as an error', async () => {
    const id = randomUUID();
    const updated = await request(app.getHttpServer())
      .patch(`/approval-items/${id}`)
      .set('authorization', tenant.auth)
      .send({ title: 'Gone' });
    const deleted = await request(app.getHttpServer())
      .delete(`/approval-items/${id}`)
      .set('authorization', tenant.auth);

    for (const { status, body } of [updated, deleted]) {
      expect({ status, body }).toEqual({
        status: 404,
        body: { message: 'Not found', error: 'Not Found', statusCode: 404 },
      });
    }
    expect(loud()).toEqual([]);
  });

  it('a body over the size limit: 413 as JSON, nothing logged as an error', async () => {
    const { status, body, headers } = await request(app.getHttpServer())
      .post('/approval-items')
      .set('authorization', tenant.auth)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ title: 'x'.repeat(200 * 1024) }));

    expect(status).toBe(413);
    expect(headers['content-type']).toMatch(/^application\/json/);
    expect(body).toEqual({
      message: 'request entity too large',
      error: 'Payload Too Large',
      statusCode: 413,
    });
    expect(loud()).toEqual([]);
  });

  it('a user of another tenant: 403 saying "tenant", nothing logged as an error', async () => {
    const other = await createTenant(app, 'Error logging, other');
    const { status, body } = await request(app.getHttpServer())
      .get('/approval-items')
      .set(
        'authorization',
        `Bearer ${signToken({ sub: other.userId, workspaceId: tenant.workspaceId })}`,
      );

    expect({ status, body }).toEqual({
      status: 403,
      body: { message: 'You are not a member of this tenant', error: 'Forbidden', statusCode: 403 },
    });
    expect(loud()).toEqual([]);
  });
});
