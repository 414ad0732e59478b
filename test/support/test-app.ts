import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import type { PrismaModuleOptions } from 'nest-prisma-tenancy';

/** The HS256 secret the e2e apps verify tokens with. */
export const TEST_JWT_SECRET = 'e2e-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/**
 * Builds and starts the demo app against this run's test database (the global setup set
 * DATABASE_URL / SYSTEM_DATABASE_URL), exactly as main.ts wires it, with optional PrismaModule
 * options (pool sizes, verifyMembership). Close it in afterAll.
 */
export async function createTestApp(
  env: Record<string, string | undefined> = {},
  prismaOptions: PrismaModuleOptions = {},
): Promise<INestApplication> {
  process.env.JWT_SECRET = TEST_JWT_SECRET;
  process.env.NODE_ENV = 'test';
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(prismaOptions)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  app.enableShutdownHooks();
  await app.init();
  return app;
}

/** Signs a token like the demo's clients get (HS256, `sub`, optional `workspaceId`, 1h expiry). */
export function signToken(
  claims: { sub: string; workspaceId?: unknown } & Record<string, unknown>,
  options: jwt.SignOptions = {},
  secret: string = TEST_JWT_SECRET,
): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: '1h', ...options });
}

/** A user who created a workspace through the API, with a token scoped to it. */
export interface TestTenant {
  userId: string;
  workspaceId: string;
  /** `Authorization` header value with the workspace claim. */
  auth: string;
}

/** Creates a user and a workspace through `POST /workspaces`; returns a workspace-scoped token. */
export async function createTenant(app: INestApplication, name = 'Workspace'): Promise<TestTenant> {
  const userId = randomUUID();
  const { status, body } = await request(app.getHttpServer())
    .post('/workspaces')
    .set('authorization', `Bearer ${signToken({ sub: userId })}`)
    .send({ name });
  if (status !== 201)
    throw new Error(`POST /workspaces answered ${status}: ${JSON.stringify(body)}`);
  const workspaceId = (body as { id: string }).id;
  return { userId, workspaceId, auth: `Bearer ${signToken({ sub: userId, workspaceId })}` };
}

/**
 * A Prisma client as the role app_admin (sees every workspace), to set up fixtures and to check
 * the real database state behind both layers. Disconnect it in afterAll.
 */
export function adminPrisma(): PrismaClient {
  const url = process.env.SYSTEM_DATABASE_URL;
  if (!url)
    throw new Error('SYSTEM_DATABASE_URL is not set: run the tests through jest (global setup)');
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}
