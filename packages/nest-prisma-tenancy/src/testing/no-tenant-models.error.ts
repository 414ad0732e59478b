/**
 * The isolation kit found no tenant-owned model to check, so it would generate no test and pass
 * while proving nothing. The message names the tenant field, where it came from, the models of
 * the schema the kit read, and how to fix it.
 */
export class NoTenantModelsError extends Error {
  override name = this.constructor.name;

  constructor(detail: string) {
    super(
      `The isolation kit found no tenant-owned model to check: ${detail} It would generate no ` +
        'test. Give the kit the options of the app under test: describeTenantIsolation({ module: ' +
        'AppModule, app: () => app }) reads tenantField, tenantModels, tenantRootModel and the ' +
        'client class from its PrismaModule.forRoot(); or pass them to the kit ({ client: ' +
        "PrismaClient, tenantField: 'tenantId' }).",
    );
  }
}
