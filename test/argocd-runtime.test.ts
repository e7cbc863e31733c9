// The pure parts of running Argo CD as processes (cluster/argocd/pod-env.ts, install.ts, argocd.ts) and the local Git
// repository Argo CD reads (git-repo.ts, needs only git). No cluster, no Go.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { containerEnv, type EnvVar } from '../cluster/argocd/pod-env.ts';
import { configFiles, crdFiles, objectPath, runtimeObjects } from '../cluster/argocd/install.ts';
import { manifestEnv, rerootPaths } from '../cluster/argocd/argocd.ts';
import { createLocalRepo } from '../cluster/argocd/git-repo.ts';

const exec = promisify(execFile);
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('a container environment from the install manifests (kubelet rules)', () => {
  const pod = {
    namespace: 'argocd',
    configMaps: { 'argocd-cmd-params-cm': { 'controller.sync.timeout.seconds': '900' }, 'argocd-cm': {} },
    secrets: { 'argocd-redis': { auth: b64('s3cret') } },
  };
  const ref = (name: string, key: string, optional?: boolean): NonNullable<EnvVar['valueFrom']> => ({ configMapKeyRef: { name, key, ...(optional === undefined ? {} : { optional }) } });

  test('a ConfigMap key becomes the variable; a missing optional key leaves it out', () => {
    const env = containerEnv(
      [
        { name: 'ARGOCD_APPLICATION_CONTROLLER_SYNC_TIMEOUT', valueFrom: ref('argocd-cmd-params-cm', 'controller.sync.timeout.seconds', true) },
        { name: 'ARGOCD_RECONCILIATION_TIMEOUT', valueFrom: ref('argocd-cm', 'timeout.reconciliation', true) },
        { name: 'ARGOCD_CONTROLLER_REPLICAS', value: '1' },
      ],
      pod,
    );
    assert.deepEqual(env, { ARGOCD_APPLICATION_CONTROLLER_SYNC_TIMEOUT: '900', ARGOCD_CONTROLLER_REPLICAS: '1' });
  });

  test('a missing key that is not optional stops the container, as CreateContainerConfigError does', () => {
    assert.throws(() => containerEnv([{ name: 'X', valueFrom: ref('argocd-cm', 'nope') }], pod), /X: ConfigMap argocd-cm has no key nope and the reference is not optional/);
    assert.throws(() => containerEnv([{ name: 'X', valueFrom: ref('absent-cm', 'k', false) }], pod), /not optional/);
  });

  test('a Secret key is decoded from base64; the namespace comes from the pod', () => {
    const env = containerEnv(
      [
        { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'argocd-redis', key: 'auth' } } },
        { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ],
      pod,
    );
    assert.deepEqual(env, { REDIS_PASSWORD: 's3cret', NAMESPACE: 'argocd' });
  });

  test('an empty value is kept as empty', () => {
    assert.deepEqual(containerEnv([{ name: 'EMPTY', value: '' }], pod), { EMPTY: '' });
  });

  test('the env list is read from the container named in a Deployment', () => {
    const yaml = `apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: other\n          env: [{name: A, value: "1"}]\n        - name: argocd-repo-server\n          env:\n            - name: HELM_CACHE_HOME\n              value: /helm-working-dir\n`;
    assert.deepEqual(manifestEnv(yaml, 'argocd-repo-server'), [{ name: 'HELM_CACHE_HOME', value: '/helm-working-dir' }]);
    assert.throws(() => manifestEnv(yaml, 'nope'), /no container nope/);
  });

  test('container paths are re-rooted under the run directory; other values are left alone', () => {
    assert.deepEqual(rerootPaths({ HELM_CACHE_HOME: '/helm-working-dir', LEVEL: 'info' }, '/run/x'), { HELM_CACHE_HOME: '/run/x/helm-working-dir', LEVEL: 'info' });
  });
});

describe('what the install puts into the cluster', () => {
  let dir: string;
  after(() => rm(dir, { recursive: true, force: true }));

  test('CRDs and settings files are found in a module laid out as Argo CD\'s', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'argocd-module-'));
    await mkdir(path.join(dir, 'manifests/crds'), { recursive: true });
    await mkdir(path.join(dir, 'manifests/base/config'), { recursive: true });
    for (const f of ['application-crd.yaml', 'appproject-crd.yaml', 'kustomization.yaml']) await writeFile(path.join(dir, 'manifests/crds', f), '');
    await writeFile(path.join(dir, 'manifests/base/config/kustomization.yaml'), 'resources:\n- argocd-cm.yaml\n- argocd-secret.yaml\n');
    assert.deepEqual((await crdFiles(dir)).map((f) => path.basename(f)), ['application-crd.yaml', 'appproject-crd.yaml']);
    assert.deepEqual((await configFiles(dir)).map((f) => path.basename(f)), ['argocd-cm.yaml', 'argocd-secret.yaml']);
  });

  test('the default AppProject is the one argocd-server creates: any source, any destination, any cluster kind', () => {
    const project = runtimeObjects('argocd', 'pw').find((o) => (o as { kind: string }).kind === 'AppProject') as { metadata: { name: string }; spec: unknown };
    assert.equal(project.metadata.name, 'default');
    assert.deepEqual(project.spec, { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] });
  });

  test('objects map to their API paths', () => {
    assert.equal(objectPath({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd' } }), '/api/v1/namespaces/argocd/configmaps/argocd-cm');
    assert.equal(
      objectPath({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'applications.argoproj.io' } }),
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/applications.argoproj.io',
    );
    assert.throws(() => objectPath({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }), /kind Pod is not known/);
  });
});

describe('the local Git repository Argo CD reads', () => {
  let dir: string;
  after(() => rm(dir, { recursive: true, force: true }));

  test('the committed tree is pushed with source.yaml pointing at the bare repository; commits and reverts move main', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'argocd-repo-'));
    const repo = await createLocalRepo(dir);
    const show = async (file: string) => (await exec('git', ['-C', repo.bare, 'show', `main:${file}`])).stdout;
    const source = await show('argocd/settings/source.yaml');
    assert.match(source, new RegExp(`^  repoURL: ${repo.url.replace(/[/.]/g, '\\$&')}$`, 'm'));
    assert.match(source, /^  targetRevision: main$/m);
    assert.ok(repo.url.startsWith('file:///'));

    const first = await repo.head();
    const release = await repo.commit('release: a change', async (work) => {
      await writeFile(path.join(work, 'RELEASE'), 'bad\n');
    });
    assert.notEqual(release, first);
    assert.equal(await show('RELEASE'), 'bad\n');
    const revert = await repo.revert(release);
    assert.equal(await repo.head(), revert);
    await assert.rejects(show('RELEASE'));
    assert.equal(await readFile(path.join(repo.work, 'argocd/settings/source.yaml'), 'utf8'), source);
  });
});
