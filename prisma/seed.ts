/**
 * Demo data: two users, each the OWNER of a workspace ("Acme", "Globex") with a project, an AI
 * provider config and a few approval items. Safe to run again: every row has a fixed id (or a
 * natural key) and is upserted. Prints the ids and a bearer token per user and workspace.
 *
 * It writes as the owner over DIRECT_URL. Row-Level Security is FORCEd on every tenant and
 * identity table, so it applies to an owner that is not a superuser (a managed PostgreSQL's
 * `postgres`, for one): each transaction therefore first sets `app.workspace_id` to a value signed
 * with TENANT_SETTING_SECRET, as the library does, and the database's key is installed first.
 *
 * Run it through `npm run db:seed` (or `npm run db:reset`), which provides DIRECT_URL.
 */
import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@prisma/client';
import { signAccessToken } from '../scripts/token';
import { loadDotEnv, readEnvironment } from '../src/config/environment';
import { InvalidEnvironmentError } from '../src/config/invalid-environment.error';
import { PROJECT_ROOT } from '../src/database/project-root';
import { SettingKeyMismatchError } from 'nest-prisma-tenancy';
import { TENANT_SETTING } from 'nest-prisma-tenancy';
import { TenantSettingSigner } from 'nest-prisma-tenancy';

interface DemoItem {
  title: string;
  description: string;
  status: 'PENDING' | 'APPROVED' | 'REJECTED';
  confidence: number;
  payload: Prisma.InputJsonValue;
}

interface DemoWorkspace {
  name: string;
  slug: string;
  owner: { email: string; name: string };
  project: { name: string; slug: string };
  items: DemoItem[];
}

const DEMO: DemoWorkspace[] = [
  {
    name: 'Acme',
    slug: 'acme',
    owner: { email: 'alice@acme.example', name: 'Alice Admin' },
    project: { name: 'Customer support', slug: 'customer-support' },
    items: [
      {
        title: 'Refund order #1042',
        description: 'The customer reports a damaged parcel; the agent proposes a full refund.',
        status: 'PENDING',
        confidence: 0.92,
        payload: { action: 'refund', orderId: 1042, amount: 129.9, currency: 'EUR' },
      },
      {
        title: 'Reply to ticket #311',
        description: 'Drafted answer about delivery times.',
        status: 'APPROVED',
        confidence: 0.81,
        payload: { action: 'reply', ticketId: 311 },
      },
      {
        title: 'Close duplicate ticket #312',
        description: 'Looks like a duplicate of #311.',
        status: 'REJECTED',
        confidence: 0.44,
        payload: { action: 'close', ticketId: 312, duplicateOf: 311 },
      },
    ],
  },
  {
    name: 'Globex',
    slug: 'globex',
    owner: { email: 'bob@globex.example', name: 'Bob Builder' },
    project: { name: 'Marketing', slug: 'marketing' },
    items: [
      {
        title: 'Publish the spring newsletter',
        description: 'Generated copy for the April newsletter.',
        status: 'PENDING',
        confidence: 0.77,
        payload: { action: 'publish', channel: 'newsletter' },
      },
      {
        title: 'Pause the underperforming ad set',
        description: 'Cost per click doubled over the last week.',
        status: 'PENDING',
        confidence: 0.68,
        payload: { action: 'pause', adSetId: 'as_981' },
      },
    ],
  },
];

/** When the demo decisions were made; fixed, so that seeding again changes nothing. */
const DECIDED_AT = new Date('2026-01-15T10:00:00.000Z');

/** A stable UUID (version 4 layout) for a demo row, so that seeding again updates, not duplicates. */
function demoId(key: string): string {
  const hex = createHash('sha256').update(`nest-prisma-tenancy demo ${key}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `4${hex.slice(13, 16)}`,
    `${variant}${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join('-');
}

/** How long a signed setting stays valid (the library's default `settingMaxAgeSeconds`). */
const SETTING_MAX_AGE_SECONDS = 300;

/**
 * Stores the key derived from TENANT_SETTING_SECRET in the database unless it has one (the app does
 * the same on first start), so that the settings the seed signs are verified.
 *
 * @throws SettingKeyMismatchError when the database holds another app's key.
 */
async function installSettingKey(prisma: PrismaClient, signer: TenantSettingSigner): Promise<void> {
  const [{ outcome }] = await prisma.$queryRaw<{ outcome: string }[]>`
    SELECT public.tenancy_install_setting_key(${signer.key}, ${SETTING_MAX_AGE_SECONDS}::int) AS outcome`;
  if (outcome === 'mismatch') throw new SettingKeyMismatchError();
}

/** The statement that opens a seed transaction: the signed tenant setting, transaction-local. */
function selectTenant(
  prisma: PrismaClient,
  signer: TenantSettingSigner,
  workspaceId: string | undefined,
  userId: string,
) {
  return prisma.$executeRaw`SELECT set_config(${TENANT_SETTING}, ${signer.sign(workspaceId, userId)}, true)`;
}

/**
 * Upserts a demo user by email, keeping the id of an existing account. As the user itself: a
 * non-superuser owner sees and writes only the current user's row.
 */
async function seedUser(prisma: PrismaClient, signer: TenantSettingSigner, demo: DemoWorkspace) {
  const id = demoId(`user ${demo.owner.email}`);
  const [, user] = await prisma.$transaction([
    selectTenant(prisma, signer, undefined, id),
    prisma.user.upsert({
      where: { email: demo.owner.email },
      create: { id, ...demo.owner },
      update: { name: demo.owner.name },
    }),
  ]);
  return user;
}

async function seedWorkspace(
  prisma: PrismaClient,
  signer: TenantSettingSigner,
  demo: DemoWorkspace,
  ownerId: string,
) {
  const workspaceId = demoId(`workspace ${demo.slug}`);
  const projectId = demoId(`project ${demo.slug}/${demo.project.slug}`);
  const providerId = demoId(`ai-provider ${demo.slug}`);
  const provider = {
    provider: 'OPENAI' as const,
    name: 'Default OpenAI',
    // Stands in for application-encrypted ciphertext; it decrypts to nothing.
    encryptedCredential: `v1:demo:${Buffer.from(`not-a-real-key-${demo.slug}`).toString('base64')}`,
    defaultModel: 'gpt-4o-mini',
    isDefault: true,
  };
  const items = demo.items.map((item, index) => {
    const decided = item.status !== 'PENDING';
    const data = {
      ...item,
      projectId,
      aiProviderConfigId: providerId,
      createdById: ownerId,
      decidedById: decided ? ownerId : null,
      decidedAt: decided ? DECIDED_AT : null,
    };
    const id = demoId(`approval-item ${demo.slug}/${index}`);
    return prisma.approvalItem.upsert({
      where: { workspaceId_id: { workspaceId, id } },
      create: { id, workspaceId, ...data },
      update: data,
    });
  });

  // RLS is forced on every tenant table, for the owner role too (unless it is a superuser): each
  // workspace's rows are written in one transaction that first selects that workspace, signed, with
  // its owner as the current user (tenant rows may only reference users the writer can see).
  await prisma.$transaction([
    selectTenant(prisma, signer, workspaceId, ownerId),
    prisma.workspace.upsert({
      where: { id: workspaceId },
      create: { id: workspaceId, name: demo.name, slug: demo.slug },
      update: { name: demo.name, slug: demo.slug },
    }),
    prisma.workspaceMember.upsert({
      where: { workspaceId_userId: { workspaceId, userId: ownerId } },
      create: { workspaceId, userId: ownerId, role: 'OWNER' },
      update: { role: 'OWNER' },
    }),
    prisma.project.upsert({
      where: { workspaceId_id: { workspaceId, id: projectId } },
      create: { id: projectId, workspaceId, ...demo.project },
      update: demo.project,
    }),
    prisma.aIProviderConfig.upsert({
      where: { workspaceId_id: { workspaceId, id: providerId } },
      create: { id: providerId, workspaceId, ...provider },
      update: provider,
    }),
    ...items,
  ]);
  return { workspaceId, projectId, providerId, itemCount: items.length };
}

async function main(): Promise<void> {
  loadDotEnv(PROJECT_ROOT);
  const env = readEnvironment();
  if (!env.directUrl) {
    throw new InvalidEnvironmentError([
      'DIRECT_URL is not set. The seed writes as the owner role over the direct connection. Run it ' +
        'with npm run db:seed, which starts the embedded PostgreSQL when no database is configured, ' +
        'or set DIRECT_URL (and DATABASE_URL). Example: ' +
        'DIRECT_URL=postgresql://postgres:postgres@localhost:5432/app',
    ]);
  }

  const signer = new TenantSettingSigner(env.tenantSettingSecret);
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: env.directUrl }) });
  const lines: string[] = [];
  try {
    await installSettingKey(prisma, signer);
    for (const demo of DEMO) {
      const owner = await seedUser(prisma, signer, demo);
      const seeded = await seedWorkspace(prisma, signer, demo, owner.id);
      const token = signAccessToken(env, {
        sub: owner.id,
        workspaceId: seeded.workspaceId,
        expiresIn: '12h',
      });
      lines.push(
        `${demo.name} (slug "${demo.slug}")`,
        `  workspace id        ${seeded.workspaceId}`,
        `  owner               ${demo.owner.email}  user id ${owner.id}`,
        `  project id          ${seeded.projectId}`,
        `  AI provider id      ${seeded.providerId}`,
        `  approval items      ${seeded.itemCount}`,
        `  bearer token (12h)  ${token}`,
        '',
      );
    }
  } finally {
    await prisma.$disconnect();
  }

  console.log(`Seeded the demo data.\n\n${lines.join('\n')}`);
  console.log('Send a token as the header: Authorization: Bearer <token>');
  if (env.jwtSecretIsDevelopmentDefault) {
    console.log('The tokens are signed with the development secret (JWT_SECRET is unset).');
  }
}

main().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError || error instanceof SettingKeyMismatchError) {
    console.error(error.message);
  } else if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
    console.error(
      `Seeding failed: ${error.message}\nA row with the same unique value (such as workspace slug ` +
        `"acme" or "globex", or, when the owner role is not a superuser, a demo user's e-mail) ` +
        `already exists with another id. Reset the database with npm run db:reset, or rename the ` +
        `existing row.`,
    );
  } else {
    console.error(error);
  }
  process.exitCode = 1;
});
