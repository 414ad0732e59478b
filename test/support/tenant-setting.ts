import pg from 'pg';
import { installSettingKey as storeKey, TenantSettingSigner } from 'nest-prisma-tenancy';

/** The signer of this test run (TENANT_SETTING_SECRET, set by the global setup). */
export function testSigner(): TenantSettingSigner {
  const secret = process.env.TENANT_SETTING_SECRET;
  if (!secret) throw new Error('TENANT_SETTING_SECRET is not set: run the tests through jest');
  return new TenantSettingSigner(secret);
}

/** The signed value of `app.workspace_id` for a workspace (and user), as the library sends it. */
export function signedSetting(tenantId: string | undefined, userId?: string): string {
  return testSigner().sign(tenantId, userId);
}

/** Stores the key derived from `secret` in the database at `url` (as its owner). */
export async function installSettingKey(url: string, secret: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if ((await storeKey(client, new TenantSettingSigner(secret).key, 300)) === 'missing') {
      throw new Error(
        'the test database has no tenancy_install_setting_key: migrations not applied',
      );
    }
  } finally {
    await client.end();
  }
}
