// Starting the service on a port another process holds: one log line that says which variable to set, exit 1, and
// no stack to read through (what `npm start` prints when 5000 is taken).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import { spawnServer } from '../testing/support/server-process.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

describe('a port in use', () => {
  test('exits 1 with one line naming the port and PORT, without a stack', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const server = spawnServer({ DATA_DIR: await tempDir(), PORT: String(port) });
      assert.equal(await server.exited, 1);
      const fatal = server.logs.filter((line) => line.level === 60);
      assert.equal(fatal.length, 1, JSON.stringify(server.logs));
      assert.equal(fatal[0]!.msg, `cannot listen: port ${port} is in use on 127.0.0.1: set PORT to a free port (e.g. PORT=${port + 1})`);
      assert.equal(fatal[0]!.code, 'EADDRINUSE');
      assert.doesNotMatch(JSON.stringify(server.logs), /"stack"/);
    } finally {
      holder.close();
    }
  });
});
