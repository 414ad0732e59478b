import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foldersClosedToOthers } from './embedded-postgres';

describe('foldersClosedToOthers (the embedded PostgreSQL as root runs as "postgres")', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'embedded-access-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('names the folder that others cannot enter (mkdtemp makes it 0700), and only it', () => {
    const data = join(root, 'project', '.data');
    mkdirSync(data, { recursive: true });
    chmodSync(root, 0o700);
    expect(foldersClosedToOthers(data)).toEqual([root]);
  });

  it('is empty once every folder on the way lets others pass', () => {
    const data = join(root, 'project', '.data');
    mkdirSync(data, { recursive: true });
    chmodSync(root, 0o711);
    expect(foldersClosedToOthers(data)).toEqual([]);
  });
});
