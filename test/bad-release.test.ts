// BAD_RELEASE: the switch that makes an instance a bad release on purpose (src/service/bad-release.ts), its validation, what
// a person sees (log, /visits, page, metrics), and the Kustomize component that sets it on an overlay.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { listOverlays } from '../bundle/files.ts';
import { render, type Rendered } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { createApp, type Counter } from '../src/service/app.ts';
import { badReleaseFailsVisit, badReleaseNotReadyReason, describeBadRelease, parseBadRelease } from '../src/service/bad-release.ts';
import { ConfigError, parseConfig } from '../src/service/config.ts';
import { createMetrics } from '../src/service/metrics.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';
import { startServer } from '../testing/support/server-process.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

describe('parseBadRelease', () => {
  const cases: [string | undefined, ReturnType<typeof parseBadRelease>][] = [
    [undefined, undefined],
    ['', undefined],
    ['crash', { mode: 'crash', afterMs: 1000 }],
    ['crash:250', { mode: 'crash', afterMs: 250 }],
    ['unready', { mode: 'unready' }],
    ['errors', { mode: 'errors', share: 1 }],
    ['errors:0.25', { mode: 'errors', share: 0.25 }],
    ['slow', { mode: 'slow', delayMs: 30_000 }],
    ['slow:1500', { mode: 'slow', delayMs: 1500 }],
  ];
  for (const [text, expected] of cases) test(`${JSON.stringify(text)}`, () => assert.deepEqual(parseBadRelease(text), expected));

  for (const bad of ['explode', 'errors:2', 'errors:-0.1', 'slow:soon', 'unready:1', 'crash:1:2']) {
    test(`rejects ${bad}, and config names the variable`, () => {
      assert.throws(() => parseBadRelease(bad));
      assert.throws(
        () => parseConfig({ BAD_RELEASE: bad }),
        (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.variable === 'BAD_RELEASE' && /crash\[:ms\]/.test(p.expected)),
      );
    });
  }

  test('off by default; set, it reaches the config', () => {
    assert.equal(parseConfig({}).badRelease, undefined);
    assert.deepEqual(parseConfig({ BAD_RELEASE: 'errors:0.5' }).badRelease, { mode: 'errors', share: 0.5 });
  });

  test('readiness and failing visits per mode', () => {
    assert.equal(badReleaseNotReadyReason(undefined, 0), undefined);
    assert.equal(badReleaseNotReadyReason({ mode: 'unready' }, 1e9), 'bad-release:unready');
    assert.equal(badReleaseNotReadyReason({ mode: 'crash', afterMs: 10 }, 0), 'bad-release:crash');
    assert.equal(badReleaseNotReadyReason({ mode: 'slow', delayMs: 100 }, 99), 'bad-release:slow');
    assert.equal(badReleaseNotReadyReason({ mode: 'slow', delayMs: 100 }, 100), undefined);
    assert.equal(badReleaseNotReadyReason({ mode: 'errors', share: 1 }, 0), undefined);
    assert.equal(badReleaseFailsVisit({ mode: 'errors', share: 0.3 }, 0.29), true);
    assert.equal(badReleaseFailsVisit({ mode: 'errors', share: 0.3 }, 0.3), false);
    assert.equal(badReleaseFailsVisit({ mode: 'unready' }, 0), false);
    assert.equal(describeBadRelease({ mode: 'errors', share: 0.3 }), 'errors:0.3');
  });
});

describe('the app with a bad release', () => {
  class FakeCounter implements Counter {
    value = 0;
    healthy = true;
    async visit(): Promise<number> {
      return ++this.value;
    }
  }
  test('errors: the failing share answers 500 and counts nothing; the mode shows in /visits, the page and /metrics', async () => {
    const counter = new FakeCounter();
    let fail = true;
    const app = createApp({
      counter,
      lifecycle: { notReadyReason: () => undefined },
      clock: { now: () => new Date('2026-01-02T03:04:05.000Z') },
      config: { podName: 'rollcall-2', version: '2.0.0', timeZone: 'UTC' },
      metrics: createMetrics({ defaultMetrics: false, badRelease: 'errors:0.5' }),
      badRelease: { label: 'errors:0.5', failsVisit: () => fail },
    });
    const failed = await app.request('/', { headers: { accept: 'application/json' } });
    assert.equal(failed.status, 500);
    assert.equal(counter.value, 0, 'no visit counted for a failed answer');
    fail = false;
    const ok = await app.request('/', { headers: { accept: 'application/json' } });
    assert.equal(ok.status, 200);
    assert.equal(counter.value, 1);
    assert.deepEqual(await (await app.request('/visits')).json(), { counter: 1, pod: 'rollcall-2', version: '2.0.0', badRelease: 'errors:0.5' });
    assert.match(await (await app.request('/')).text(), /BAD_RELEASE=errors:0\.5/);
    assert.match(await (await app.request('/metrics')).text(), /bad_release_info\{mode="errors:0\.5"\} 1/);
  });

  test('a good release shows no trace of the switch', async () => {
    const app = createApp({
      counter: new FakeCounter(),
      lifecycle: { notReadyReason: () => undefined },
      clock: { now: () => new Date() },
      config: { podName: 'p', version: '1', timeZone: 'UTC' },
    });
    assert.deepEqual(Object.keys((await (await app.request('/visits')).json()) as object).sort(), ['counter', 'pod', 'version']);
    assert.doesNotMatch(await (await app.request('/')).text(), /BAD_RELEASE/);
  });
});

describe('the server process with a bad release', () => {
  test('crash: warns at startup, is never ready, exits 1 on its own', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    // 3 s: long enough for /readyz to be asked on a busy machine before the exit it announces.
    const server = await startServer({ DATA_DIR: dir, BAD_RELEASE: 'crash:3000' });
    assert.ok(server.logs.some((l) => l.level === 40 && /bad release on purpose/.test(String(l.msg))), 'startup warning');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
    assert.equal(await server.exited, 1);
  });

  test('unready: alive (/healthz 200) but /readyz 503 with the reason', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir, BAD_RELEASE: 'unready' });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not ready', reason: 'bad-release:unready' });
    server.child.kill('SIGKILL');
    await server.exited;
  });
});

describe('components/bad-release', () => {
  test('one line in any overlay sets BAD_RELEASE on the app container and changes nothing else', { timeout: 60_000 }, async (t) => {
    if (!requireRenderer(t) || !renderer) return;
    // A copy of kustomize/, not the repository's own folder: other test files read and copy that folder while this
    // one runs (npm test runs two files at a time), and must never meet a half-written kustomization in it.
    const root = await tempDir();
    await cp(path.join(repoRoot, 'kustomize'), path.join(root, 'kustomize'), { recursive: true });
    for (const overlay of listOverlays(repoRoot)) {
      // A kustomization next to the overlays: the overlay plus the component, as the README's one line does.
      const dir = await mkdtemp(path.join(root, 'kustomize', `bad-release-test-${overlay}-`));
      try {
        await writeFile(path.join(dir, 'kustomization.yaml'), `resources:\n  - ../overlays/${overlay}\ncomponents:\n  - ../components/bad-release\n`);
        const [plain, bad]: Rendered[] = await Promise.all([
          render(renderer, path.join('kustomize', 'overlays', overlay), repoRoot),
          render(renderer, path.relative(root, dir), root),
        ]);
        const env = (objects: readonly K8sObject[]): { name: string; value?: string }[] =>
          (objects.find((o) => o.kind === 'StatefulSet') as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } })
            .spec.template.spec.containers[0]!.env;
        assert.deepEqual(env(bad!.objects).at(-1), { name: 'BAD_RELEASE', value: 'errors:0.5' }, overlay);
        assert.ok(parseBadRelease(env(bad!.objects).at(-1)!.value), `${overlay}: the value is one the app accepts`);
        assert.deepEqual(env(bad!.objects).slice(0, -1), env(plain!.objects), overlay);
        assert.equal(bad!.objects.length, plain!.objects.length, overlay);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});
