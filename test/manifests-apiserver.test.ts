// Mutation tests of bundle/apiserver.ts: every rule the API server enforces and the schemas miss, broken on purpose in
// a rendered overlay, must be reported with overlay, object and field. Each rule also unit-tested on its own. The
// broken cases (testing/support/apiserver-cases.ts) are also sent to a real API server by testing/cluster/
// apiserver-rules.ts, which must refuse each on the same field.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkApiServerRules, labelKeyError, labelValueError, parseQuantity, portNameError } from '../bundle/apiserver.ts';
import { checkOverlay } from '../bundle/policy.ts';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { formatProblem, type K8sObject } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';
import { apiServerCases } from '../testing/support/apiserver-cases.ts';

const rendered = new Map<string, K8sObject[]>();
before(async () => {
  if (!renderer) return;
  for (const name of ['canary', 'parallel', 'recreate', 'rolling']) rendered.set(name, (await render(renderer, `kustomize/overlays/${name}`, repoRoot)).objects);
});
const copy = (name: string) => structuredClone(rendered.get(name)!);

describe('rules on their own (upstream function in bundle/apiserver.ts)', () => {
  test('label values: IsValidLabelValue', () => {
    assert.equal(labelValueError('web'), undefined);
    assert.equal(labelValueError(''), undefined);
    assert.match(labelValueError('two words')!, /alphanumeric/);
    assert.match(labelValueError('-web')!, /start and end/);
    assert.match(labelValueError('x'.repeat(64))!, /63/);
  });
  test('label keys: IsQualifiedName', () => {
    assert.equal(labelKeyError('app.kubernetes.io/name'), undefined);
    assert.match(labelKeyError('a/b/c')!, /at most one/);
    assert.match(labelKeyError('Bad_Prefix/x')!, /DNS-1123/);
  });
  test('port names: IsValidPortName', () => {
    assert.equal(portNameError('http'), undefined);
    assert.match(portNameError('HTTP')!, /lowercase/);
    assert.match(portNameError('http-metrics-port')!, /15/);
    assert.match(portNameError('5000')!, /letter/);
    assert.match(portNameError('web--x')!, /--/);
  });
  test('quantities: binary and decimal suffixes, exponents, millis', () => {
    assert.equal(parseQuantity('128Mi'), 128 * 2 ** 20);
    assert.equal(parseQuantity('1G'), 1e9);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('lots'), undefined);
  });
});

describe('mutation tests: each broken overlay is reported with overlay, object and field', () => {
  for (const { label, overlay, mutate, want } of apiServerCases) {
    test(`${label} (${overlay})`, (t) => {
      if (!requireRenderer(t)) return;
      const objects = copy(overlay);
      assert.deepEqual(checkApiServerRules(overlay, objects), [], 'the unmutated overlay must pass');
      mutate(objects);
      const shown = checkOverlay(overlay, objects).map(formatProblem).join('\n');
      assert.match(shown, want);
      assert.match(shown, /\((rejected by the API server|accepted with the StatefulSet; the API server rejects the claim .*)\)/);
    });
  }
});
