// The API-server rules mirrored in bundle/apiserver.ts, proven by the original: every broken manifest the mirror's
// unit test uses (testing/support/apiserver-cases.ts, one list for both) is sent to a real kube-apiserver
// (cluster/local/control-plane.ts, Kubernetes v1.37.2) as a dry-run create, and so is its unbroken original. For each
// case the real server must refuse the broken object (422 Invalid) and the mirror must report it, on the same field;
// both must accept the original. The field paths of both sides are printed and written as JSON (RECORD_DIR, else the
// suite's temp dir). Field paths are compared after one notation change: the mirror names a container by its name
// (`containers[rollcall]`, as every rule of the bundle's policy does) where the API server gives its index
// (`containers[0]`); and the mirror may name the map key under the API server's field (`metadata.labels[k]` under
// `metadata.labels`, `resources.requests.memory` under `resources.requests`: upstream puts the key or value in the
// message instead).
// Every overlay applied server-side into a namespace enforcing Pod Security restricted is checked by
// testing/cluster/node-agent.ts (a real apply, not a dry run), so not repeated here.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root and Go (or a
// cached control plane binary): a skip with the reason where either is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkApiServerRules } from '../../bundle/apiserver.ts';
import { findRenderer, noRendererMessage, render } from '../../bundle/render.ts';
import { repoRoot } from '../../bundle/schema.ts';
import type { K8sObject } from '../../bundle/types.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { ApiError, KubeApi, loadKubeConfig } from '../../cluster/node-agent/kube-api.ts';
import { apiServerCases, findObject } from '../support/apiserver-cases.ts';
import { eventually, whyNoControlPlane } from '../support/cluster-helpers.ts';

// Its own name, transit subnet and node name: other control planes on this host are left alone.
const OPTIONS = { name: 'rc-rules', subnet: 207, nodeName: 'rules-node' };
const renderer = findRenderer();

const reason = whyNoControlPlane() ?? (renderer ? undefined : noRendererMessage);
if (reason && process.env['CI'] === 'true') {
  test('the API-server rules can be checked here (CI=true)', () => assert.fail(reason));
}

type Cause = { reason?: string; message?: string; field?: string };
interface Answer {
  status: number;
  causes: Cause[];
  message?: string;
}

/** The mirror's field in the API server's notation: a container named by its index in its list, a pod template's
 * labels as `spec.template.labels` (upstream's path: PodTemplateSpec embeds ObjectMeta). */
function upstreamField(object: Record<string, any>, field: string): string {
  return field.replace(/^spec\.template\.metadata\.labels/, 'spec.template.labels').replace(/^(.*?)\.(containers|initContainers)\[([^\]]+)\]/, (whole, podSpecPath: string, list: string, name: string) => {
    if (/^\d+$/.test(name)) return whole;
    const podSpec = podSpecPath.split('.').reduce<any>((at, key) => at?.[key], object);
    const index = ((podSpec?.[list] ?? []) as { name: string }[]).findIndex((c) => c.name === name);
    return index < 0 ? whole : `${podSpecPath}.${list}[${index}]`;
  });
}

/** How the mirror's field (upstream notation) relates to the real one: the same, or one map key under it. */
function fieldMatch(real: string, mirror: string): 'same' | 'key under it' | undefined {
  if (real === mirror) return 'same';
  if (!mirror.startsWith(real)) return undefined;
  const rest = mirror.slice(real.length);
  return /^(\[[^\]]+\]|\.[A-Za-z0-9-]+)$/.test(rest) ? 'key under it' : undefined;
}

describe('the API-server rules of bundle/apiserver.ts against a real API server', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  let tmp: string;
  const rendered = new Map<string, K8sObject[]>();
  /** `<group> <kind>` -> its resource name, prefixed `namespaces/` when namespaced (from discovery). */
  const resources = new Map<string, string>();
  const recorded: Record<string, unknown>[] = [];
  const findings: string[] = [];

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-apiserver-rules-'));
      const binary = process.env['CONTROLPLANE_BINARY'];
      // No node and no Service is used here: kube-proxy is not waited for.
      cp = await startControlPlane({ ...OPTIONS, ...(binary ? { binary } : {}), stateDir: path.join(tmp, 'control-plane'), waitForProxy: false, log: (line) => console.log(`# ${line}`) });
      api = new KubeApi(loadKubeConfig(cp.kubeconfigs.admin));
      for (const overlay of new Set(apiServerCases.map((c) => c.overlay))) {
        const objects = (await render(renderer!, `kustomize/overlays/${overlay}`, repoRoot)).objects;
        rendered.set(overlay, objects);
        // The overlay's own Namespace (Pod Security restricted), made for real: a dry-run create needs it to exist.
        const ns = objects.find((o) => o.kind === 'Namespace');
        if (ns) await api.request('POST', '/api/v1/namespaces', ns);
      }
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    const dir = process.env['RECORD_DIR'] ? path.resolve(process.env['RECORD_DIR']) : path.join(tmp ?? os.tmpdir(), 'recorded');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'apiserver-rules.json'), `${JSON.stringify({ kubernetes: cp ? (await api.get<{ gitVersion: string }>('/version').catch(() => ({ gitVersion: '?' }))).gitVersion : '?', cases: recorded, findings }, null, 2)}\n`);
    console.log(`# recorded in ${path.join(dir, 'apiserver-rules.json')}`);
    for (const f of findings) console.log(`# finding: ${f}`);
    await api?.close();
    await cp?.stop();
    if (tmp && !process.env['KEEP_CLUSTER_TMP']) rmSync(tmp, { recursive: true, force: true });
  });

  /** The collection URL of an object's kind, from the API server's own discovery. */
  async function collection(o: K8sObject): Promise<string> {
    const group = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
    const key = `${group} ${o.kind}`;
    if (!resources.has(key)) {
      const list = await api.get<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(group);
      const r = list.resources.find((x) => x.kind === o.kind && !x.name.includes('/'));
      if (!r) throw new Error(`the API server serves no ${o.kind} in ${group}`);
      resources.set(key, `${r.namespaced ? 'namespaces/' : ''}${r.name}`);
    }
    const [scope, plural] = resources.get(key)!.split('/').length === 2 ? ['namespaced', resources.get(key)!.split('/')[1]!] : ['cluster', resources.get(key)!];
    return scope === 'namespaced' ? `${group}/namespaces/${o.metadata?.namespace}/${plural}` : `${group}/${plural}`;
  }

  /** A dry-run create (nothing stored), with unknown fields refused too. */
  async function send(o: K8sObject): Promise<Answer> {
    try {
      await api.request('POST', `${await collection(o)}?dryRun=All&fieldValidation=Strict`, o);
      return { status: 201, causes: [] };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { status: error.status, causes: error.details?.causes ?? [], message: error.message };
    }
  }

  /** The claim the StatefulSet controller makes for ordinal 0 from the first claim template (kubernetes
   * pkg/controller/statefulset/stateful_set_utils.go getPersistentVolumeClaims: the template's metadata and spec,
   * named <template>-<set>-<ordinal>, with the set's selector labels added). */
  function claimOf(sts: Record<string, any>): K8sObject {
    const template = sts['spec'].volumeClaimTemplates[0];
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { ...template.metadata, name: `${template.metadata.name}-${sts['metadata'].name}-0`, namespace: sts['metadata'].namespace, labels: { ...template.metadata.labels, ...sts['spec'].selector.matchLabels } },
      spec: template.spec,
    };
  }

  for (const c of apiServerCases) {
    test(`${c.label} (${c.overlay}, ${c.target.kind}): refused by both on the same field; the original accepted by both`, async () => {
      const original = structuredClone(rendered.get(c.overlay)!);
      const broken = structuredClone(original);
      c.mutate(broken);
      const before = findObject(original, c.target) as K8sObject;
      const after = findObject(broken, c.target) as K8sObject;
      assert.ok(before && after, `${c.overlay} renders a ${c.target.kind}`);

      const acceptedReal = await send(before);
      const acceptedMirror = checkApiServerRules(c.overlay, [before]);
      let refusedReal = await send(after);
      let stage: Record<string, unknown> = {};
      if (c.refusedAs === 'claim') {
        // The StatefulSet is accepted; what is refused is the claim its controller creates. Both are checked for
        // real: the claim sent as a dry run (its causes compared below), and the StatefulSet created for real
        // (with one replica) until its controller reports the claim's refusal in an event.
        stage = { statefulSetAnswer: refusedReal.status };
        assert.equal(refusedReal.status, 201, `the real server accepts the StatefulSet with the broken claim template: ${refusedReal.message ?? ''}`);
        const real = structuredClone(after) as Record<string, any>;
        real['metadata'].name = 'rollcall-broken-claim';
        real['spec'].replicas = 1;
        await api.request('POST', await collection(real as K8sObject), real);
        const ns = real['metadata'].namespace as string;
        const event = await eventually('the StatefulSet controller reports the refused claim', 60_000, async () => {
          const list = await api.get<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(`/api/v1/namespaces/${ns}/events`);
          return list.items.find((e) => e.involvedObject.name === 'rollcall-broken-claim' && e.reason === 'FailedCreate');
        });
        console.log(`# ${c.label}: the controller's event: ${event.reason}: ${event.message}`);
        stage['controllerEvent'] = `${event.reason}: ${event.message}`;
        assert.match(event.message, /PersistentVolumeClaim "web-app-data-rollcall-broken-claim-0" is invalid: metadata\.labels/);
        await api.request('DELETE', `${await collection(real as K8sObject)}/rollcall-broken-claim`);
        refusedReal = await send(claimOf(after as Record<string, any>));
      }
      const notation = (field: string) => (c.refusedAs === 'claim' ? field.replace(/^spec\.volumeClaimTemplates\[\d+\]\./, '') : upstreamField(after, field));
      const refusedMirror = checkApiServerRules(c.overlay, [after]);
      const mirror = refusedMirror.map((p) => ({ field: p.field, upstreamNotation: notation(p.field), message: p.message }));
      const matches = mirror.map((m) => {
        const hit = refusedReal.causes.map((cause) => ({ cause, how: fieldMatch(cause.field ?? '', m.upstreamNotation) })).find((x) => x.how);
        return { mirror: m.field, real: hit?.cause.field, how: hit?.how };
      });
      const unmatchedReal = refusedReal.causes.filter((cause) => !mirror.some((m) => fieldMatch(cause.field ?? '', m.upstreamNotation)));

      console.log(`# ${c.label}: real ${refusedReal.status} ${refusedReal.causes.map((x) => `${x.field}: ${x.message}`).join(' | ') || refusedReal.message || ''}`);
      console.log(`#   mirror: ${refusedMirror.map((p) => `${p.field}: ${p.message}`).join(' | ') || 'nothing'}`);
      console.log(`#   fields: ${matches.map((m) => `${m.mirror} ~ ${m.real ?? 'NONE'} (${m.how ?? 'no match'})`).join('; ')}; original: real ${acceptedReal.status}, mirror ${acceptedMirror.length} problem(s)`);
      recorded.push({ label: c.label, overlay: c.overlay, object: `${c.target.kind}/${after.metadata?.name}`, ...(c.refusedAs ? { refusedAs: c.refusedAs, ...stage } : {}), real: refusedReal, mirror, matches, realOnly: unmatchedReal, original: { real: acceptedReal, mirror: acceptedMirror } });

      const differences: string[] = [];
      if (acceptedReal.status !== 201) differences.push(`the real API server refused the original: ${acceptedReal.message}`);
      if (acceptedMirror.length > 0) differences.push(`the mirror refused the original: ${acceptedMirror.map((p) => p.field).join(', ')}`);
      if (refusedReal.status !== 422) differences.push(`the real API server answered ${refusedReal.status} (not 422 Invalid) to the broken object${refusedReal.message ? `: ${refusedReal.message}` : ''}`);
      if (refusedMirror.length === 0) differences.push('the mirror accepted the broken object');
      for (const m of matches) if (!m.how) differences.push(`the mirror's field ${m.mirror} is not among the real server's (${refusedReal.causes.map((x) => x.field).join(', ') || 'none'})`);
      for (const u of unmatchedReal) differences.push(`the real server also refused ${u.field} (${u.message}), which the mirror did not report`);
      findings.push(...differences.map((d) => `${c.label} (${c.overlay}): ${d}`));
      assert.deepEqual(differences, []);
    });
  }
});
