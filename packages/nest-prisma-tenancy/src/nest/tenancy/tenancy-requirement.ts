/** What a handler requires of the caller: a verified user, or a verified user in a workspace. */
export type TenancyRequirement = 'user' | 'tenant';
