/**
 * `npm run db:studio` in a real browser: Prisma 7's Studio, started by the npm script on a seeded
 * database, driven by Debian's Chromium (headless, through playwright-core). It must list a table
 * for every model and show the rows of `workspaces`, a table under Row-Level Security: Studio
 * connects as the owner (DIRECT_URL), for whom the policies do not apply; as `app_runtime` it would
 * show none. Saves a screenshot to .data/artifacts/studio.png.
 *
 * Run by `npm run test:browser` (jest.browser.config.js), which CI runs; needs /usr/bin/chromium
 * (`apt-get install chromium`), or CHROMIUM_PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prisma } from '@prisma/client';
import { chromium, type BrowserContext } from 'playwright-core';
import { runPrisma } from '../../src/database/database-bootstrap';
import { PROJECT_ROOT } from '../../src/database/project-root';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = join(PROJECT_ROOT, '.data', 'artifacts', 'studio.png');
const STARTUP_TIMEOUT_MS = 60_000;

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts `npm run db:studio` on `port`; resolves once Studio says it is running. */
function startStudio(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(
    'npm',
    ['run', '--silent', 'db:studio', '--', '--port', String(port), '--browser', 'none'],
    // Its own process group, so that stopping it stops tsx, the Prisma CLI and Studio's server.
    { cwd: PROJECT_ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, detached: true },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStudio, reject) => {
    const timer = setTimeout(() => {
      stopStudio(child);
      reject(new Error(`Studio did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output}`));
    }, STARTUP_TIMEOUT_MS);
    const check = () => {
      if (output.includes(`Prisma Studio is running at: http://localhost:${port}`)) {
        clearTimeout(timer);
        resolveStudio({ child, output: () => output });
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run db:studio exited with ${code} before Studio started:\n${output}`));
    });
  });
}

function stopStudio(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}

/** The lines of the sidebar's table list: between "Tables" and the first button of the grid. */
function tableList(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trim());
  const start = lines.indexOf('Tables');
  const end = lines.indexOf('Insert row', start);
  return lines.slice(start + 1, end).filter((line) => line !== '');
}

describe('npm run db:studio (Prisma 7 Studio) in Chromium', () => {
  let studio: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  afterAll(async () => {
    await context?.close();
    if (studio) stopStudio(studio);
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('lists a table for every model and shows the seeded workspaces as the owner', async () => {
    const urls = { databaseUrl: process.env.DATABASE_URL!, directUrl: process.env.DIRECT_URL! };
    const seed = await runPrisma(['db', 'seed'], urls);
    expect({ code: seed.code, tail: seed.output.slice(-200) }).toEqual({
      code: 0,
      tail: expect.stringContaining('The seed command has been executed.'),
    });

    const port = await freePort();
    ({ child: studio } = await startStudio(port));

    userDataDir = mkdtempSync(join(tmpdir(), 'studio-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.getByText('workspaces', { exact: true }).first().click();
    await page.getByText('Globex', { exact: true }).first().waitFor({ timeout: 30_000 });
    await page.getByText('Acme', { exact: true }).first().waitFor({ timeout: 30_000 });
    mkdirSync(join(PROJECT_ROOT, '.data', 'artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    const text = await page.locator('body').innerText();
    const modelTables = Prisma.dmmf.datamodel.models.map((model) => model.dbName ?? model.name);
    expect(tableList(text)).toEqual(['_prisma_migrations', ...modelTables].sort());
    expect(page.url()).toBe(`http://127.0.0.1:${port}/#schema=public&table=workspaces&view=table`);
    const cells = await page.locator('td').allInnerTexts();
    expect(
      cells.filter((cell) => ['Acme', 'Globex', 'acme', 'globex'].includes(cell.trim())).sort(),
    ).toEqual(['Acme', 'Globex', 'acme', 'globex']);
  });
});
