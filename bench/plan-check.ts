/**
 * The filtered list's query plan with and without Row-Level Security.
 *
 * Under RLS, PostgreSQL applies a user condition before the policy's only when its operator is
 * LEAKPROOF. `uuid_eq` is, `enum_eq` is not: `status = 'PENDING'` (an enum) then cannot be an index
 * condition, so the (workspace_id, status, created_at) index no longer delivers the rows in order,
 * and every row of the workspace is read, filtered and sorted to return 20.
 */
import pg from 'pg';
import { benchSigner } from './database';

/** What EXPLAIN ANALYZE says about one execution. */
export interface ListPlan {
  role: string;
  workspaceRows: number;
  executionMs: number;
  planningMs: number;
  /** Rows read from the table before the LIMIT. */
  rowsScanned: number;
  sorted: boolean;
  indexConditions: string[];
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const LIST_SQL = `SELECT id, workspace_id, title, status::text, created_at FROM approval_items
  WHERE (status = CAST($1::text AS approval_status) AND workspace_id = $2)
  ORDER BY created_at ASC LIMIT 20 OFFSET 0`;

function walk(node: PlanNode, visit: (n: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

async function explain(url: string, workspaceId: string, asTenant: boolean): Promise<ListPlan> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    if (asTenant)
      await client.query(`SELECT set_config('app.workspace_id', $1, true)`, [
        benchSigner().sign(workspaceId, undefined),
      ]);
    const { rows: count } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM approval_items WHERE workspace_id = $1',
      [workspaceId],
    );
    // Twice: the first execution warms the caches.
    await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${LIST_SQL}`, ['PENDING', workspaceId]);
    const { rows } = await client.query<{
      'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }];
    }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${LIST_SQL}`, ['PENDING', workspaceId]);
    await client.query('COMMIT');
    const [{ Plan: plan, 'Execution Time': executionMs, 'Planning Time': planningMs }] =
      rows[0]['QUERY PLAN'];
    let rowsScanned = 0;
    let sorted = false;
    const indexConditions: string[] = [];
    walk(plan, (node) => {
      if (node['Node Type'] === 'Sort') sorted = true;
      if (node['Relation Name'] === 'approval_items')
        rowsScanned += (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
      const condition = node['Index Cond'];
      if (condition) indexConditions.push(condition.replace(/'[0-9a-f-]{36}'::uuid/g, '<ws>'));
    });
    return {
      role: new URL(url).username,
      workspaceRows: Number(count[0].n),
      executionMs,
      planningMs,
      rowsScanned,
      sorted,
      indexConditions,
    };
  } finally {
    await client.end();
  }
}

/** The list query's plan as the owner (no RLS) and as app_runtime (RLS), for each workspace. */
export async function checkListPlans(
  ownerUrl: string,
  runtimeUrl: string,
  workspaceIds: string[],
): Promise<ListPlan[]> {
  const plans: ListPlan[] = [];
  for (const id of workspaceIds) {
    plans.push(await explain(ownerUrl, id, false));
    plans.push(await explain(runtimeUrl, id, true));
  }
  return plans;
}
