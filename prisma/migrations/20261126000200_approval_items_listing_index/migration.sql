-- CreateIndex
CREATE INDEX "approval_items_workspace_id_created_at_idx" ON "approval_items"("workspace_id", "created_at");

