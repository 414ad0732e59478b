import type { TenantPrismaClient } from '../../core/client/tenant-extension';

/** Who is calling, as an identity resolver answers it; ids must be UUIDs (see `auth`). */
export interface RequestIdentity {
  /** The user id (a UUID): the current user of the tenant client and of PostgreSQL. */
  userId: string;
  /** The workspace the request acts in (a UUID); needed by `@TenantScoped()` only. */
  tenantId?: string | null;
}

/**
 * Reads the caller from the request (Express or Fastify request object, after the app's own
 * authentication ran). Answer `undefined`/`null` for "not authenticated" (401); throw an
 * `HttpException` to answer something else.
 */
export type RequestIdentityResolver = (
  request: Record<string, unknown>,
) => RequestIdentity | null | undefined | Promise<RequestIdentity | null | undefined>;

/** Where `@TenantScoped()` / `@Authenticated()` take the caller's identity from. */
export interface TenancyAuthSourceOptions {
  /**
   * - `'token'`: the library verifies `Authorization: Bearer <JWT>` itself (see `jwt`); the only
   *   mode that needs a key.
   * - `'request'`: the app's own authentication (a Passport strategy, `@nestjs/jwt` guard,
   *   session middleware, ...) has already put the user on the request; the ids are read at
   *   `userIdPath` and `tenantIdPath`. No JWT key is needed.
   * - a function: reads the identity from the request itself.
   *
   * Default: `'token'`.
   */
  resolve?: 'token' | 'request' | RequestIdentityResolver;
  /**
   * With `resolve: 'request'`, the dotted path of the user id (a UUID) on the request.
   * Default: `'user.id'` (`req.user.id`).
   */
  userIdPath?: string;
  /**
   * With `resolve: 'request'`, the dotted path of the workspace id (a UUID) on the request.
   * Default: `'user.<tenantClaim>'`, i.e. `'user.workspaceId'`.
   */
  tenantIdPath?: string;
  /**
   * When the identity is resolved and the request context filled:
   * - `'guard'`: in `TenantGuard`, which `@TenantScoped()` adds to the handler's guards. With
   *   `resolve: 'request'` the app's authentication guard must run before it: a global guard
   *   (`APP_GUARD`), a controller-level guard for a handler-level `@TenantScoped()`, or a guard
   *   listed first (write `@TenantScoped()` above `@UseGuards(AuthGuard('jwt'))`: decorators apply
   *   bottom-up, so the lower one's guard runs first). Later guards see the tenant context.
   * - `'interceptor'`: in `TenantInterceptor`, which `@TenantScoped()` also adds; Nest runs
   *   interceptors after every guard (global, controller, handler), so any guard order works, but
   *   guards do not see the tenant context.
   *
   * Default: `'guard'`.
   */
  stage?: 'guard' | 'interceptor';
}

/** The membership table of `membership: { ... }`, by Prisma model and field names. */
export interface MembershipModelOptions {
  /** The Prisma model of memberships. Default: `'WorkspaceMember'`. */
  model?: string;
  /** Its field holding the workspace id. Default: the module's `tenantField` (`'workspaceId'`). */
  tenantField?: string;
  /** Its field holding the user id. Default: `'userId'`. */
  userField?: string;
  /**
   * When the membership lookup runs:
   * - `'first-query'`: inside the round trip of the request's first database statement, pipelined
   *   between the tenant setting and that statement in one transaction, so a non-member's
   *   statement (a write included) never runs and a member pays no extra round trip. A handler
   *   that ends (or fails) without any database statement gets the lookup before its response
   *   is sent, so a non-member still gets 403 and no data; but side effects outside the database
   *   that such a handler causes before its first statement are not prevented.
   * - `'guard'`: as its own statement before the handler runs (one more round trip per request),
   *   for handlers with side effects outside the database.
   *
   * Default: `'first-query'`.
   */
  checkAt?: 'first-query' | 'guard';
}

/** What a membership callback gets; it runs inside the workspace's context. */
export interface MembershipCheckContext {
  tenantId: string;
  userId: string;
  /** The tenant client, scoped to `tenantId` (and `userId`) while the callback runs. */
  prisma: TenantPrismaClient;
}

/** A membership check of the app's own: true when `userId` may act in `tenantId` now. */
export type MembershipCallback = (context: MembershipCheckContext) => Promise<boolean>;

/** The authentication and membership options of `PrismaModule.forRoot()`. */
export interface TenancyAuthOptions {
  /**
   * Where the caller's identity comes from. User and workspace ids must be UUIDs: they become the
   * current user and tenant of the tenant client and of PostgreSQL's Row-Level Security. Map other
   * ids to UUIDs in a resolver function (or with `jwt.userIdClaim`). Default: `{ resolve: 'token' }`.
   */
  auth?: TenancyAuthSourceOptions;
  /**
   * The membership check of `@TenantScoped()` requests (on every request unless
   * `membershipCacheTtlMs`):
   * - `{ model, tenantField, userField }`: one indexed lookup in that model's table, with
   *   Row-Level Security on; model and fields are checked at start-up.
   * - a function: decides itself; it runs inside the workspace's context (and the user's), so the
   *   tenant client works in it.
   * - `false`: no check (the identity source vouches for membership).
   *
   * Default: `verifyMembership`'s behaviour, i.e. `{ model: 'WorkspaceMember', tenantField:
   * <tenantField>, userField: 'userId' }`. When set, `membership` takes precedence over
   * `verifyMembership`.
   */
  membership?: false | MembershipModelOptions | MembershipCallback;
}

declare module './prisma-module-options.interface' {
  /** Token verification options added with the JOSE-based verifier (merged into `jwt`). */
  interface TenancyJwtOptions {
    /**
     * URL of a JSON Web Key Set (e.g. `https://issuer/.well-known/jwks.json`), fetched and cached
     * by `jose`'s `createRemoteJWKSet`; tokens signed with RS*, PS*, ES* or EdDSA by one of its
     * keys are accepted (matched by `kid`). Default: `process.env.JWT_JWKS_URL` (unset: none).
     */
    jwksUrl?: string;
    /**
     * Accepted signature algorithms. Default: `HS256` with `secret`; `RS256` with an RSA
     * `publicKey`, `ES256`/`ES384`/`ES512` with an EC key (by curve), `EdDSA` with an Ed25519/Ed448
     * key; RS*, PS*, ES* and EdDSA with `jwksUrl`. List e.g. `['HS512']` or `['RS256', 'PS256']`
     * to accept others (HS256/384/512, RS/PS 256/384/512, ES256/384/512, EdDSA).
     */
    algorithms?: string[];
    /**
     * What `sub` must look like: `'uuid'`, `'any'` (any non-empty string, e.g. `auth0|123`), or a
     * validator. The user id of the context must still be a UUID (the database layer scopes
     * identity rows by it): with a non-UUID `sub`, name a UUID claim in `userIdClaim`.
     * Default: `'uuid'`.
     */
    subjectFormat?: 'uuid' | 'any' | ((sub: string) => boolean);
    /** The claim holding the user id (a UUID). Default: `'sub'`. */
    userIdClaim?: string;
  }
}
