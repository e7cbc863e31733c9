// cluster/local/watch.ts: one object followed through the API server's watch, every state delivered in order, the
// stream resumed from the last version seen, and listed again when that version is gone (410).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchObject, type WatchTransport } from '../cluster/local/watch.ts';

const app = (rv: string, phase: string) => ({ metadata: { name: 'a', resourceVersion: rv }, status: { phase } });

test('every state of the object, in order: the list, each MODIFIED event, the resume from the last version, a re-list after 410', async () => {
  const paths: string[] = [];
  const streams: ((onLine: (line: string) => void) => void)[] = [
    (on) => {
      on(JSON.stringify({ type: 'MODIFIED', object: app('6', 'Running') }));
      on(JSON.stringify({ type: 'MODIFIED', object: app('7', 'Failed') }));
      on(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '8' } } }));
    },
    (on) => on(JSON.stringify({ type: 'ERROR', object: { code: 410, metadata: {} } })),
    (on) => on(JSON.stringify({ type: 'MODIFIED', object: app('12', 'Succeeded') })),
  ];
  let lists = 0;
  const transport: WatchTransport = {
    get: async <T,>(p: string) => {
      paths.push(p);
      lists += 1;
      return { metadata: { resourceVersion: lists === 1 ? '5' : '11' }, items: [app(lists === 1 ? '5' : '11', lists === 1 ? 'Pending' : 'Running')] } as T;
    },
    stream: async (p, onLine, signal) => {
      paths.push(p);
      const next = streams.shift();
      if (next) next(onLine);
      else await new Promise((resolve) => signal.addEventListener('abort', resolve));
      if (signal.aborted) throw new Error('aborted');
    },
  };
  const seen: string[] = [];
  const w = watchObject<ReturnType<typeof app>>(transport, '/apis/x/v1/namespaces/n/things', 'a', (o) => seen.push(`${o.metadata.resourceVersion}:${o.status.phase}`));
  await new Promise((resolve) => setTimeout(resolve, 100));
  w.stop();
  assert.deepEqual(seen, ['5:Pending', '6:Running', '7:Failed', '11:Running', '12:Succeeded']);
  assert.match(paths[0]!, /^\/apis\/x\/v1\/namespaces\/n\/things\?fieldSelector=metadata.name%3Da$/);
  assert.match(paths[1]!, /watch=true.*resourceVersion=5$/);
  assert.match(paths[2]!, /resourceVersion=8$/, 'resumed from the bookmark, the last version seen');
  assert.match(paths[3]!, /\?fieldSelector=metadata.name%3Da$/, 'listed again after 410 Gone');
  assert.match(paths[4]!, /resourceVersion=11$/);
});
