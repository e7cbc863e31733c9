// rehearsal/model/blue-green.ts: the blue-green overlay's state, its Git steps and the routing after a selector switch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import {
  applyStep, BlueGreenModelError, podsRunning, readBlueGreen, releaseSteps, rollbackSteps, routedColour, type BlueGreenState,
} from '../rehearsal/model/blue-green.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const start: BlueGreenState = { active: 'blue', colours: { blue: { version: '1.0.0', replicas: 3 }, green: { version: '1.0.0', replicas: 0 } } };

describe('readBlueGreen', () => {
  test('the committed overlay: blue active on 1.0.0 with 3 replicas, green idle at 0', async (t) => {
    if (!requireRenderer(t)) return;
    const { objects } = await render(renderer!, 'kustomize/overlays/blue-green', repoRoot);
    assert.deepEqual(readBlueGreen(objects), start);
  });
  test('refuses an overlay without both colours or without a colour on the client Service', () => {
    assert.throws(() => readBlueGreen([]), /StatefulSet rollcall-blue is not in the overlay/);
    const set = (c: string) => ({ kind: 'StatefulSet', metadata: { name: `rollcall-${c}` }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'rollcall', image: 'x/y:1.2.3' }] } } } });
    assert.throws(() => readBlueGreen([set('blue'), set('green'), { kind: 'Service', metadata: { name: 'rollcall' }, spec: { selector: {} } }]), /must select rollcall\/colour blue or green, got undefined/);
    assert.deepEqual(readBlueGreen([set('blue'), set('green'), { kind: 'Service', metadata: { name: 'rollcall' }, spec: { selector: { 'rollcall/colour': 'green' } } }]).active, 'green');
  });
});

describe('the README steps', () => {
  test('a release: idle colour up on the new version, switch, old colour down; twice the pods in between', () => {
    const steps = releaseSteps(start, '1.1.0');
    assert.deepEqual(steps, [
      { kind: 'release', colour: 'green', version: '1.1.0', replicas: 3 },
      { kind: 'switch', to: 'green' },
      { kind: 'scale-down', colour: 'blue' },
    ]);
    const released = applyStep(start, steps[0]!);
    assert.equal(podsRunning(released), 6);
    const switched = applyStep(released, steps[1]!);
    assert.equal(switched.active, 'green');
    const done = applyStep(switched, steps[2]!);
    assert.deepEqual(done, { active: 'green', colours: { blue: { version: '1.0.0', replicas: 0 }, green: { version: '1.1.0', replicas: 3 } } });
    assert.equal(podsRunning(done), 3);
  });
  test('rollback before the scale-down is one switch back; after it, the old colour must come up first', () => {
    const switched: BlueGreenState = { active: 'green', colours: { blue: { version: '1.0.0', replicas: 3 }, green: { version: '1.1.0', replicas: 3 } } };
    assert.deepEqual(rollbackSteps(switched), [{ kind: 'switch', to: 'blue' }]);
    const scaledDown: BlueGreenState = { ...switched, colours: { ...switched.colours, blue: { version: '1.0.0', replicas: 0 } } };
    assert.deepEqual(rollbackSteps(scaledDown), [
      { kind: 'release', colour: 'blue', version: '1.0.0', replicas: 3 },
      { kind: 'switch', to: 'blue' },
    ]);
  });
  test('refused: a release to the active colour, a switch to a colour at 0, a scale-down of the active colour', () => {
    assert.throws(() => applyStep(start, { kind: 'release', colour: 'blue', version: '2', replicas: 3 }), BlueGreenModelError);
    assert.throws(() => applyStep(start, { kind: 'switch', to: 'green' }), /scaled to 0: scale it up first/);
    assert.throws(() => applyStep(start, { kind: 'scale-down', colour: 'blue' }), /the active colour: switch first/);
    assert.throws(() => applyStep(start, { kind: 'release', colour: 'green', version: '2', replicas: 0 }), /replicas >= 1/);
  });
});

describe('routedColour: the selector reaches the data path after the endpoint propagation delay', () => {
  const changes = [{ atMs: 10_000, to: 'green' as const }, { atMs: 20_000, to: 'blue' as const }];
  const cases: [number, string][] = [
    [9_999, 'blue'],
    [10_000, 'blue'],
    [10_999, 'blue'],
    [11_000, 'green'],
    [20_500, 'green'],
    [21_000, 'blue'],
  ];
  for (const [t, want] of cases) test(`at ${t} ms with a 1 s delay: ${want}`, () => assert.equal(routedColour('blue', changes, 1000, t), want));
  test('no delay: at once; a negative delay is refused', () => {
    assert.equal(routedColour('blue', changes, 0, 10_000), 'green');
    assert.throws(() => routedColour('blue', changes, -1, 0), /propagationMs must be >= 0/);
  });
});
