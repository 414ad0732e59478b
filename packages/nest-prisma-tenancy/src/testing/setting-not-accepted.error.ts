/**
 * PostgreSQL does not accept the isolation kit's signed tenant setting as the runtime role, so
 * every database check would fail for a reason that has nothing to do with isolation.
 */
export class SettingNotAcceptedError extends Error {
  override name = this.constructor.name;

  constructor() {
    super(
      'PostgreSQL does not accept the tenant setting signed by the isolation kit ' +
        '(public.current_workspace_id() is NULL for it on runtimeUrl). Either settingSecret ' +
        '(default TENANT_SETTING_SECRET) is not the secret of the app under test, or the database ' +
        'holds no key yet: PrismaService installs it when the app first starts, so open the kit ' +
        'after the app (or with an app that has started once against this database).',
    );
  }
}
