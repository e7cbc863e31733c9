// The rehearsal's load (rehearsal/run/load.ts) balances as kube-proxy does: per connection. Two local servers stand
// for two pods; the Service's endpoints move from A to B (a blue-green switch): kept-alive clients stay on A until A
// closes their connections (`Connection: close`, what a draining pod answers), per-request clients follow at once.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Load, type ClientConnections, type Endpoint } from '../rehearsal/run/load.ts';

async function pod(name: string): Promise<{ endpoint: Endpoint; draining: { on: boolean }; close: () => void }> {
  const draining = { on: false };
  let visit = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(draining.on ? { connection: 'close' } : {}) });
    res.end(JSON.stringify({ visit: ++visit, pod: name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: { name, version: name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, draining, close: () => server.close() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function switchFromAToB(connections: ClientConnections) {
  const a = await pod('a');
  const b = await pod('b');
  let routed = [a.endpoint];
  const load = new Load(() => routed, connections);
  await load.start(4, 200);
  await sleep(300);
  routed = [b.endpoint];
  const switchedAt = performance.now();
  await sleep(400);
  const afterSwitch = load.outcomes.filter((o) => o.at > switchedAt + 50).map((o) => o.pod);
  a.draining.on = true;
  await sleep(300);
  const drainedAt = performance.now();
  await sleep(300);
  const afterDrain = load.outcomes.filter((o) => o.at > drainedAt).map((o) => o.pod);
  await load.stop();
  a.close();
  b.close();
  return { afterSwitch, afterDrain, failed: load.outcomes.filter((o) => !o.ok) };
}

test('keep-alive clients stay on the endpoint they connected to after it leaves the Service, until it closes their connection', async () => {
  const { afterSwitch, afterDrain, failed } = await switchFromAToB('keep-alive');
  assert.ok(afterSwitch.length > 10);
  assert.ok(afterSwitch.every((p) => p === 'a'), `after the switch: ${[...new Set(afterSwitch)].join(', ')}`);
  assert.ok(afterDrain.length > 5 && afterDrain.every((p) => p === 'b'), `after A closed the connections: ${[...new Set(afterDrain)].join(', ')}`);
  assert.deepEqual(failed, [], 'moving on Connection: close loses no request');
});

test('per-request clients follow the Service at once', async () => {
  const { afterSwitch } = await switchFromAToB('per-request');
  assert.ok(afterSwitch.length > 10);
  assert.ok(afterSwitch.every((p) => p === 'b'), `after the switch: ${[...new Set(afterSwitch)].join(', ')}`);
});
