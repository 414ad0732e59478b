import { resolve } from 'node:path';

/** The repository root (this file is `src/database/` in source, `dist/database/` when built). */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');
