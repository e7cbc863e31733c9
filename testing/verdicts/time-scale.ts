// A verdict must not depend on the time scale or on luck: every overlay's good release is judged good, and the bad
// releases that stop by themselves stop at every scale, run after run. Real rehearsals (real server processes), so
// this suite is long (about 15 minutes on 2 cores): `npm run test:verdicts`, run by CI, not part of `npm test`.
// Not named *.test.ts: `node --test` without arguments (npm test) would pick it up.
// ROLLCALL_VERDICT_SCALES (comma-separated) and ROLLCALL_VERDICT_REPEATS narrow or widen it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listOverlays } from '../../bundle/files.ts';
import { repoRoot } from '../../bundle/schema.ts';
import { loadPlans } from '../../rehearsal/compare.ts';
import { rehearseOverlay } from '../../rehearsal/run/overlay.ts';
import { requireRenderer } from '../support/renderer.ts';

const scales = (process.env['ROLLCALL_VERDICT_SCALES'] ?? '0.05,0.1,0.3,1').split(',').map(Number);
const repeats = Number(process.env['ROLLCALL_VERDICT_REPEATS'] ?? '2');
const options = (timeScale: number) => ({ timeScale, connections: 4, rate: 100, steadyMs: 300, endpointPropagationMs: 1000 });

describe('a good release is good at every time scale, run after run', () => {
  for (const timeScale of scales) {
    test(`time scale ${timeScale}: every overlay × good, ${repeats} times`, { timeout: 3_600_000 }, async (t) => {
      if (!requireRenderer(t)) return;
      for (const plan of await loadPlans(listOverlays(repoRoot))) {
        const runs = await rehearseOverlay(plan, Array.from({ length: repeats }, () => 'good' as const), options(timeScale));
        for (const [i, run] of runs.entries()) {
          const f = run.figures;
          assert.equal(f.detection, null, `${plan.overlay} run ${i + 1} at ${timeScale}: judged bad (${JSON.stringify(f.detection)})`);
          assert.equal(f.before.failed, 0, `${plan.overlay} run ${i + 1} at ${timeScale}: ${f.before.failed} requests failed before the release`);
          assert.equal(f.lost + f.duplicated, 0, `${plan.overlay} run ${i + 1}: visits lost or counted twice`);
        }
      }
    });
  }
});

describe('a bad release that stops by itself stops at every time scale', () => {
  // rolling × unready: the OrderedReady rolling update stops after its first replaced pod (kubernetes#67250).
  for (const timeScale of scales) {
    test(`time scale ${timeScale}: rolling × unready stops after one pod`, { timeout: 3_600_000 }, async (t) => {
      if (!requireRenderer(t)) return;
      const [plan] = await loadPlans(['rolling']);
      const [run] = await rehearseOverlay(plan!, ['unready'], options(timeScale));
      assert.equal(run!.figures.stoppedByItself, true, `at ${timeScale}: ${JSON.stringify(run!.figures.detection)}`);
      assert.equal(run!.figures.podsUpdated, 1);
    });
  }
});
