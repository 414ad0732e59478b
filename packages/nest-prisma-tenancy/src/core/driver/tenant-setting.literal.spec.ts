import { TenantSettingSigner } from './tenant-setting.signer';
import { setLocalSettingSql } from './tenant-setting.literal';

describe('setLocalSettingSql', () => {
  const signer = new TenantSettingSigner('s'.repeat(40));
  const tenant = '3f8e7c1a-9b2d-4c5e-8f7a-1b2c3d4e5f60';
  const user = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

  it('puts a signed value (tenant, user, both) or the cleared one into SET LOCAL', () => {
    for (const signed of [
      signer.sign(tenant, undefined),
      signer.sign(undefined, user),
      signer.sign(tenant, user),
    ]) {
      expect(setLocalSettingSql('app.workspace_id', signed)).toBe(
        `SET LOCAL app.workspace_id = '${signed}'`,
      );
    }
    expect(setLocalSettingSql('app.workspace_id', '')).toBe(`SET LOCAL app.workspace_id = ''`);
    expect(setLocalSettingSql('acme.tenant', '')).toBe(`SET LOCAL acme.tenant = ''`);
  });

  it('refuses anything else, so nothing can end the literal', () => {
    const signed = signer.sign(tenant, user);
    for (const bad of [
      `${signed}'; SELECT 1; --`,
      `${signed}'`,
      signed.toUpperCase(),
      `v1.${tenant}..1.zz`,
      `v2${signed.slice(2)}`,
      `${signed}\n`,
      tenant,
    ]) {
      expect(() => setLocalSettingSql('app.workspace_id', bad)).toThrow(/signed value/);
    }
  });
});
