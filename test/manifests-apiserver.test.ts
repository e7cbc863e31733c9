// Mutation tests of bundle/apiserver.ts: every rule the API server enforces and the schemas miss, broken on purpose in
// a rendered overlay, must be reported with overlay, object and field. Each rule also unit-tested on its own.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkApiServerRules, labelKeyError, labelValueError, parseQuantity, portNameError } from '../bundle/apiserver.ts';
import { checkOverlay } from '../bundle/policy.ts';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { formatProblem, type K8sObject } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const rendered = new Map<string, K8sObject[]>();
before(async () => {
  if (!renderer) return;
  for (const name of ['canary', 'parallel', 'recreate', 'rolling']) rendered.set(name, (await render(renderer, `kustomize/overlays/${name}`, repoRoot)).objects);
});
const copy = (name: string) => structuredClone(rendered.get(name)!);
const find = (objects: K8sObject[], kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as Record<string, any>;
const app = (objects: K8sObject[]) => find(objects, 'StatefulSet')['spec'].template.spec.containers[0];

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

// [label, overlay, mutation, expected message] — one per case the issue lists, plus neighbours.
const cases: [string, string, (o: K8sObject[]) => void, RegExp][] = [
  ['OnDelete with rollingUpdate.partition', 'recreate', (o) => (find(o, 'StatefulSet')['spec'].updateStrategy.rollingUpdate = { partition: 1 }), /^\[recreate\] StatefulSet\/rollcall spec\.updateStrategy\.rollingUpdate: only allowed for updateStrategy 'RollingUpdate'/m],
  ['memory request above its limit', 'rolling', (o) => (app(o).resources.requests.memory = '512Mi'), /^\[rolling\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.resources\.requests\.memory: must be less than or equal to memory limit of 256Mi/m],
  ['hook cpu request above its limit', 'canary', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].resources.requests.cpu = '1'), /^\[canary\] Job\/rollcall-smoke spec\.template\.spec\.containers\[smoke\]\.resources\.requests\.cpu: must be less than or equal to cpu limit of 200m/m],
  ['PDB with both minAvailable and maxUnavailable', 'parallel', (o) => (find(o, 'PodDisruptionBudget')['spec'].minAvailable = 2), /^\[parallel\] PodDisruptionBudget\/rollcall spec: minAvailable and maxUnavailable cannot be both set/m],
  ['label value with a space', 'rolling', (o) => (find(o, 'Service', 'rollcall').metadata.labels['app.kubernetes.io/part-of'] = 'roll call'), /^\[rolling\] Service\/rollcall metadata\.labels\[app\.kubernetes\.io\/part-of\]: invalid label value "roll call"/m],
  ['pod template label value with a space', 'canary', (o) => (find(o, 'StatefulSet')['spec'].template.metadata.labels['app.kubernetes.io/component'] = 'web app'), /^\[canary\] StatefulSet\/rollcall spec\.template\.metadata\.labels\[app\.kubernetes\.io\/component\]: invalid label value/m],
  ['probe with two handlers', 'rolling', (o) => (app(o).livenessProbe.tcpSocket = { port: 'http' }), /^\[rolling\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.livenessProbe\.tcpSocket: may not specify more than 1 handler type/m],
  ['invalid port name', 'parallel', (o) => (app(o).ports[0].name = 'HTTP_Port'), /^\[parallel\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.ports\[0\]\.name: invalid port name "HTTP_Port"/m],
  ['negative partition', 'canary', (o) => (find(o, 'StatefulSet')['spec'].updateStrategy.rollingUpdate.partition = -1), /^\[canary\] StatefulSet\/rollcall spec\.updateStrategy\.rollingUpdate\.partition: must be greater than or equal to 0/m],
];

describe('mutation tests: each broken overlay is reported with overlay, object and field', () => {
  for (const [label, overlay, mutate, want] of cases) {
    test(`${label} (${overlay})`, (t) => {
      if (!requireRenderer(t)) return;
      const objects = copy(overlay);
      assert.deepEqual(checkApiServerRules(overlay, objects), [], 'the unmutated overlay must pass');
      mutate(objects);
      const shown = checkOverlay(overlay, objects).map(formatProblem).join('\n');
      assert.match(shown, want);
      assert.match(shown, /\(rejected by the API server\)/);
    });
  }
});
