-- Tenant-keyed primary keys: every tenant-owned table is keyed by (workspace_id, id).
--
-- Why: a distributed PostgreSQL (Citus) shards tenant tables by workspace_id and requires every
-- primary key and unique constraint of a sharded table to include it; with the tenant in the key, a
-- lookup by key names the shard (a single-shard "router" query). On plain PostgreSQL nothing else
-- changes: ids stay globally unique UUIDs (gen_random_uuid()), and the foreign keys between tenant
-- tables already go through (workspace_id, x_id).
--
-- How: each table already has a unique index on (workspace_id, id), which the composite foreign keys
-- reference. It is promoted to the primary key (PRIMARY KEY USING INDEX renames it to <table>_pkey);
-- the foreign keys that depend on it stay as they are. The old primary key on id alone is dropped
-- (no foreign key references a tenant table by id alone). No table is rewritten: the only cost is
-- the NOT NULL check of workspace_id (already NOT NULL) and a short ACCESS EXCLUSIVE lock per table.
--
-- Uniques that did not include the tenant now do: an API key's hash and an invitation's token hash
-- are unique within their workspace (they are hashes of 256-bit random secrets, so a collision
-- across workspaces is not a practical concern; a lookup by hash alone still works, it just
-- reaches every shard on Citus).

ALTER TABLE "workspace_members" DROP CONSTRAINT "workspace_members_pkey";
ALTER TABLE "workspace_members" ADD CONSTRAINT "workspace_members_pkey" PRIMARY KEY USING INDEX "workspace_members_workspace_id_id_key";
ALTER TABLE "workspace_invitations" DROP CONSTRAINT "workspace_invitations_pkey";
ALTER TABLE "workspace_invitations" ADD CONSTRAINT "workspace_invitations_pkey" PRIMARY KEY USING INDEX "workspace_invitations_workspace_id_id_key";
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_pkey";
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_pkey" PRIMARY KEY USING INDEX "api_keys_workspace_id_id_key";
ALTER TABLE "ai_provider_configs" DROP CONSTRAINT "ai_provider_configs_pkey";
ALTER TABLE "ai_provider_configs" ADD CONSTRAINT "ai_provider_configs_pkey" PRIMARY KEY USING INDEX "ai_provider_configs_workspace_id_id_key";
ALTER TABLE "projects" DROP CONSTRAINT "projects_pkey";
ALTER TABLE "projects" ADD CONSTRAINT "projects_pkey" PRIMARY KEY USING INDEX "projects_workspace_id_id_key";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_pkey";
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_pkey" PRIMARY KEY USING INDEX "approval_items_workspace_id_id_key";
ALTER TABLE "approval_comments" DROP CONSTRAINT "approval_comments_pkey";
ALTER TABLE "approval_comments" ADD CONSTRAINT "approval_comments_pkey" PRIMARY KEY USING INDEX "approval_comments_workspace_id_id_key";
ALTER TABLE "webhooks" DROP CONSTRAINT "webhooks_pkey";
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_pkey" PRIMARY KEY USING INDEX "webhooks_workspace_id_id_key";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_pkey";
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY USING INDEX "webhook_deliveries_workspace_id_id_key";
ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_pkey";
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_pkey" PRIMARY KEY USING INDEX "audit_logs_workspace_id_id_key";

DROP INDEX "api_keys_hashed_key_key";
CREATE UNIQUE INDEX "api_keys_workspace_id_hashed_key_key" ON "api_keys"("workspace_id", "hashed_key");
DROP INDEX "workspace_invitations_token_hash_key";
CREATE UNIQUE INDEX "workspace_invitations_workspace_id_token_hash_key" ON "workspace_invitations"("workspace_id", "token_hash");
