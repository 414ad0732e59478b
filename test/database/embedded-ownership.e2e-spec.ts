import { createServer, type Server, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EmbeddedPostgresError,
  sameFolder,
  startEmbeddedPostgres,
} from '../../src/database/embedded-postgres';

/**
 * The embedded PostgreSQL is reused only when it is this checkout's own: a port held by another
 * program, or by another checkout's embedded server, is a clear message naming the fix, not a
 * stack trace and not a silently shared database.
 */
describe('embedded PostgreSQL ownership', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      socket.end('not postgres\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a port held by another program is refused with the variable to change', async () => {
    const error = await startEmbeddedPostgres({ port, dataDir: '/nonexistent' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EmbeddedPostgresError);
    expect((error as Error).message).toBe(
      `Port ${port} on 127.0.0.1 is in use by another program, not this project's embedded ` +
        `PostgreSQL. Set EMBEDDED_PG_PORT to a free port (e.g. EMBEDDED_PG_PORT=54330), or stop ` +
        `that program.`,
    );
  });

  it('the same folder through a link is the same data directory; another folder is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-owner-'));
    try {
      mkdirSync(join(dir, 'real'));
      symlinkSync(join(dir, 'real'), join(dir, 'link'));
      expect(sameFolder(join(dir, 'link'), join(dir, 'real'))).toBe(true);
      expect(sameFolder(join(dir, 'real'), join(dir, 'other'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
