import { spawn } from 'node:child_process';
import { assertReachable } from '../../src/database/database-bootstrap';
import { DatabaseUnreachableError } from 'nest-prisma-tenancy';
import { PROJECT_ROOT } from '../../src/database/project-root';

/** Nothing listens on port 1: the connection is refused at once. */
const NOWHERE = 'postgresql://x@127.0.0.1:1/db';

function runScript(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('an unreachable database', () => {
  it('is reported with host, port, variable and what to check', async () => {
    const failure: unknown = await assertReachable(NOWHERE, 'DATABASE_URL').catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(DatabaseUnreachableError);
    const error = failure as DatabaseUnreachableError;
    expect(error.name).toBe('DatabaseUnreachableError');
    expect(error.message).toContain('Cannot reach PostgreSQL at 127.0.0.1:1 (from DATABASE_URL)');
    expect(error.message).toContain('connection refused');
    expect(error.message).toContain('pg_isready -h 127.0.0.1 -p 1');
  });

  it('makes the db scripts exit 1 with that message and no stack trace', async () => {
    const { code, stdout, stderr } = await runScript(['scripts/db.ts', 'status'], {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: NOWHERE,
      DIRECT_URL: NOWHERE,
    });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('Cannot reach PostgreSQL at 127.0.0.1:1 (from DIRECT_URL)');
    expect(stderr).toContain('pg_isready -h 127.0.0.1 -p 1');
    expect(stderr).toContain('unset DATABASE_URL and DIRECT_URL');
    expect(stderr).not.toContain('    at ');
  }, 60_000);
});
