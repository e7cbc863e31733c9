// The blue-green overlay's colour switch on the real control plane: the StatefulSet controller rolls each colour, and
// clients reach the client Service's ClusterIP through kube-proxy from inside the cluster's network namespace. The
// steps are the Git changes kustomize/overlays/blue-green/README.md names, made to a copy of kustomize/ and rendered
// with `kubectl kustomize` as Argo CD would: launch (blue active), a good release to the idle green, the switch,
// the switch back and forth again, the old colour scaled down, a crashing release to the now idle blue, the switch
// made anyway (nothing stops it), the switch back, and the crashing release's commit reverted. Every pod change is
// recorded (PodRecorder), and a client inside the namespace asks the ClusterIP for /visits every 100 ms twice: once
// on a new connection each time, once on one kept-alive connection. Which pods were replaced and in which order,
// which colour each client saw, and how long after each switch every new connection landed on the new colour are
// compared with what the README says; each difference is a finding (printed, written to RECORD_DIR as
// blue-green.json, and failing the test).
// The smoke Job (a Sync hook under Argo CD) is not run here: the hooks run as Jobs in testing/cluster/releases.ts;
// this file measures the Services and the controller.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root and Go (or a
// cached control plane binary): a skip with the reason where either is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from '../../bundle/schema.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import type { SpawnedNodeAgent } from '../../cluster/node-agent/agent.ts';
import { startLocalNode } from '../../cluster/local/node.ts';
import { KubeApi, loadKubeConfig } from '../../cluster/node-agent/kube-api.ts';
import { eventually, whyNoNodeSuite } from '../support/cluster-helpers.ts';
import { buildReleaseImages, isReady, PodRecorder, tagOf, type Obj, type PodEvent, type PodObj } from '../support/release-recording.ts';

const exec = promisify(execFile);
// Its own name, transit subnet and node: other control planes on this host are left alone.
const OPTIONS = { name: 'rc-bg', subnet: 208, nodeName: 'bluegreen-node' };
const NS = 'rollcall-blue-green';
/** How long the clients are watched after a switch. */
const SWITCH_OBSERVE_MS = 10_000;
/** How long a crashing release is watched (the kubelet's back-off: restarts at about 10 s and 30 s). */
const CRASH_OBSERVE_MS = 40_000;
/** The README: "Clients move once the endpoint change has reached every node (kube-proxy), usually within a second or two". */
const README_SWITCH_MS = 2_000;
/** Client requests: one new connection and one request on the kept-alive connection every CLIENT_PERIOD_MS. */
const CLIENT_PERIOD_MS = 100;

const reason = whyNoNodeSuite();
if (reason && process.env['CI'] === 'true') {
  test('blue-green can run here (CI=true)', () => assert.fail(reason));
}

type Colour = 'blue' | 'green';
const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');
const colourOf = (pod: string | undefined): Colour | undefined => (pod?.startsWith('rollcall-blue-') ? 'blue' : pod?.startsWith('rollcall-green-') ? 'green' : undefined);

/** One answer (or failure) a client got through the ClusterIP. */
interface ClientSample {
  /** When the request started (ms since the epoch, this machine's clock). */
  t: number;
  connection: 'new' | 'kept';
  pod?: string;
  version?: string;
  status?: number;
  error?: string;
}

/**
 * The client, run inside the cluster's network namespace (kube-proxy's rules live there): every period one GET
 * /visits on a new connection (no agent) and one on a kept-alive connection, each answer printed as a JSON line.
 */
const clientScript = `
const http = require('node:http');
const [host, port, period] = process.argv.slice(1);
const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (agent, connection) => new Promise((resolve) => {
  const t = Date.now();
  const req = http.get({ host, port: Number(port), path: '/visits', agent, timeout: 1000, headers: agent ? {} : { connection: 'close' } }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      try { const j = JSON.parse(body); resolve({ t, connection, pod: j.pod, version: j.version, status: res.statusCode }); }
      catch { resolve({ t, connection, status: res.statusCode, error: 'not JSON' }); }
    });
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => resolve({ t, connection, error: e.code || e.message }));
});
(async () => {
  for (;;) {
    const answers = await Promise.all([get(false, 'new'), get(kept, 'kept')]);
    for (const a of answers) process.stdout.write(JSON.stringify(a) + '\\n');
    await new Promise((r) => setTimeout(r, Number(period)));
  }
})();
`;

interface StepRecord {
  step: string;
  /** What the README says this step does. */
  readme: string;
  /** ms since the epoch when the change was applied (kubectl apply returned), and how long the apply took. */
  appliedAt: number;
  applyMs: number;
  /** For a switch: when the client Service's selector was seen changed (a 50 ms poll of the API), ms after the apply
   * started; the client figures below count from that moment. */
  selectorChangedMs?: number;
  events: PodEvent[];
  /** Pods whose deletion started, in order; pods created, in order. */
  deleted: string[];
  created: string[];
  clients: {
    new: Record<string, number>;
    kept: Record<string, number>;
    errors: Record<string, number>;
    /** For a switch: the last new connection answered by the colour switched from, the first by the one switched
     * to (ms after the selector changed; negative: before), and the time after which every new connection landed
     * on the new colour. */
    lastOldMs?: number;
    firstNewMs?: number;
    allNewAfterMs?: number;
    /** Which colour the kept-alive connection answered from after the switch. */
    keptAfter?: Record<string, number>;
  };
  notes: string[];
}

describe('blue-green: the colour switch on the real StatefulSet controller and kube-proxy', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let agent: SpawnedNodeAgent;
  let api: KubeApi;
  let tmp: string;
  let tree: string;
  let base = '';
  let client: ChildProcess | undefined;
  const samples: ClientSample[] = [];
  const steps: StepRecord[] = [];
  const findings: string[] = [];

  const overlay = () => path.join(tree, 'overlays/blue-green');

  /** The README's Git change to a colour: its release (newTag) and size (the `value` under /spec/replicas). */
  function editColour(colour: Colour, change: { tag?: string; replicas?: number }): void {
    const file = path.join(overlay(), 'colours', colour, 'kustomization.yaml');
    let text = readFileSync(file, 'utf8');
    if (change.tag !== undefined) {
      assert.equal(text.match(/newTag: \S+/g)?.length, 1, `${file} has one newTag`);
      text = text.replace(/newTag: \S+/, `newTag: ${change.tag}`);
    }
    if (change.replicas !== undefined) {
      const replicas = /(path: \/spec\/replicas\n\s+value: )\d+/;
      assert.match(text, replicas, `${file} sets /spec/replicas`);
      text = text.replace(replicas, `$1${change.replicas}`);
    }
    writeFileSync(file, text);
  }

  /** The README's switch: the one line `- active-<colour>` in the overlay's kustomization.yaml. */
  function editActive(colour: Colour): void {
    const file = path.join(overlay(), 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    const line = /^ {2}- active-(blue|green)$/m;
    assert.match(text, line, `${file} lists one active-<colour> component`);
    writeFileSync(file, text.replace(line, `  - active-${colour}`));
  }

  const crashing = new Set<Colour>();

  /** Renders the edited tree, adds BAD_RELEASE=crash to a colour released crashing (as the bad-release component
   * does), leaves out the smoke Job, and applies it server-side as a user would. Answers when the apply returned. */
  async function applyTree(): Promise<{ started: number; at: number; ms: number }> {
    const { stdout } = await exec('kubectl', ['kustomize', overlay()], { maxBuffer: 16 << 20 });
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter((d) => d && d.kind !== 'Job');
    for (const d of docs) {
      const colour = d.kind === 'StatefulSet' ? colourOf(`${d.metadata.name}-`) : undefined;
      if (colour && crashing.has(colour)) d.spec.template.spec.containers[0].env = [...(d.spec.template.spec.containers[0].env ?? []), { name: 'BAD_RELEASE', value: 'crash' }];
    }
    const started = Date.now();
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn('kubectl', ['--kubeconfig', cp.kubeconfigs.admin, 'apply', '--server-side', '--force-conflicts', '--field-manager=rollcall-test', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
      child.stdin.end(docs.map((d) => stringify(d)).join('---\n'));
    });
    assert.equal(r.code, 0, r.stderr);
    return { started, at: Date.now(), ms: Date.now() - started };
  }

  type Sts = { metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; updateRevision?: string; readyReplicas?: number } };
  const sts = (colour: Colour) => api.get<Sts>(`/apis/apps/v1/namespaces/${NS}/statefulsets/rollcall-${colour}`);

  /** Names each colour's update revision after the release it belongs to, for the recorded events. */
  async function nameRevisions(recorder: PodRecorder, names: Record<Colour, string>): Promise<void> {
    for (const colour of ['blue', 'green'] as const) {
      const s = await eventually(`rollcall-${colour} observed`, 30_000, async () => {
        const x = await sts(colour);
        return (x.status.observedGeneration ?? 0) >= x.metadata.generation && x.status.updateRevision ? x : undefined;
      });
      if (!recorder.names.has(s.status.updateRevision!)) recorder.names.set(s.status.updateRevision!, `${colour} ${names[colour]}`);
    }
  }

  /** Waits until a colour runs exactly `replicas` pods, each Ready on its update revision. */
  async function colourReady(recorder: PodRecorder, colour: Colour, replicas: number, ms = 240_000): Promise<void> {
    await eventually(`rollcall-${colour}: ${replicas} pods Ready on the update revision`, ms, async () => {
      const s = await sts(colour);
      const pods = (await recorder.snapshot()).filter((p) => colourOf(p.metadata.name) === colour);
      const ok = pods.length === replicas && pods.every((p) => isReady(p) && !p.metadata.deletionTimestamp && p.metadata.labels?.['controller-revision-hash'] === s.status.updateRevision);
      return ok ? true : undefined;
    });
  }

  /** The client's answers in [from, to), counted by colour and version, failures by error. */
  function summarize(from: number, to: number, switchedTo?: Colour, switchedAt = from): StepRecord['clients'] {
    const window = samples.filter((s) => s.t >= from && s.t < to);
    const count = (connection: 'new' | 'kept') => {
      const out: Record<string, number> = {};
      for (const s of window.filter((x) => x.connection === connection && !x.error)) out[`${colourOf(s.pod) ?? s.pod} ${s.version}`] = (out[`${colourOf(s.pod) ?? s.pod} ${s.version}`] ?? 0) + 1;
      return out;
    };
    const errors: Record<string, number> = {};
    for (const s of window.filter((x) => x.error)) errors[`${s.connection} ${s.error}`] = (errors[`${s.connection} ${s.error}`] ?? 0) + 1;
    const out: StepRecord['clients'] = { new: count('new'), kept: count('kept'), errors };
    if (switchedTo) {
      const fresh = window.filter((s) => s.connection === 'new');
      const lastOld = fresh.filter((s) => colourOf(s.pod) === other(switchedTo)).at(-1);
      const firstNew = fresh.find((s) => colourOf(s.pod) === switchedTo);
      if (lastOld) out.lastOldMs = lastOld.t - switchedAt;
      if (firstNew) out.firstNewMs = firstNew.t - switchedAt;
      // Every new connection started after this answered from the new colour (the last one after the selector
      // changed that did not, plus the period): undefined if even the last ones did not.
      const after = fresh.filter((s) => s.t >= switchedAt);
      const lastNotNew = after.filter((s) => colourOf(s.pod) !== switchedTo).at(-1);
      if (!lastNotNew) out.allNewAfterMs = 0;
      else if (after.at(-1) !== lastNotNew) out.allNewAfterMs = lastNotNew.t - switchedAt + CLIENT_PERIOD_MS;
      const keptAfter: Record<string, number> = {};
      for (const s of window.filter((x) => x.connection === 'kept' && x.t >= switchedAt)) keptAfter[s.error ? `error ${s.error}` : (colourOf(s.pod) ?? '?')] = (keptAfter[s.error ? `error ${s.error}` : (colourOf(s.pod) ?? '?')] ?? 0) + 1;
      out.keptAfter = keptAfter;
    }
    return out;
  }

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-blue-green-'));
      chmodSync(tmp, 0o711);
      tree = path.join(tmp, 'kustomize');
      cpSync(path.join(repoRoot, 'kustomize'), tree, { recursive: true });
      const binary = process.env['CONTROLPLANE_BINARY'];
      cp = await startControlPlane({ ...OPTIONS, ...(binary ? { binary } : {}), stateDir: path.join(tmp, 'control-plane'), log: (line) => console.log(`# ${line}`) });
      assert.notEqual(cp.proxy.mode, 'none', `kube-proxy is needed for the ClusterIP clients: ${cp.proxy.mode === 'none' ? cp.proxy.reason : ''}`);
      const built = await buildReleaseImages(path.join(tmp, 'images'));
      base = built.base;
      agent = await startLocalNode(cp, { dir: tmp, images: built.images });
      api = new KubeApi(loadKubeConfig(cp.kubeconfigs.admin));
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    client?.kill('SIGKILL');
    const dir = process.env['RECORD_DIR'] ? path.resolve(process.env['RECORD_DIR']) : path.join(tmp ?? os.tmpdir(), 'recorded');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'blue-green.json'), `${JSON.stringify({ overlay: 'blue-green', kubernetes: api ? (await api.get<{ gitVersion: string }>('/version').catch(() => ({ gitVersion: '?' }))).gitVersion : '?', proxyMode: cp?.proxy.mode, clientPeriodMs: CLIENT_PERIOD_MS, switchObserveMs: SWITCH_OBSERVE_MS, crashObserveMs: CRASH_OBSERVE_MS, steps, differences: findings }, null, 2)}\n`);
    console.log(`# recorded in ${path.join(dir, 'blue-green.json')}`);
    for (const f of findings) console.log(`# finding: ${f}`);
    for (const r of PodRecorder.running) await r.end();
    await agent?.stop();
    await api?.close();
    await cp?.stop();
    if (tmp && !process.env['KEEP_CLUSTER_TMP']) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`# kept ${tmp}`);
  });

  test('launch, a good release to the idle colour, the switches, the scale-down, a crashing release, its revert', { timeout: 1_200_000 }, async () => {
    const recorder = new PodRecorder(api, NS);
    const releases: Record<Colour, string> = { blue: 'launch', green: 'launch' };
    const good = tagOf(base, 'good');
    const bad = tagOf(base, 'crash');

    /** One README step: the change applied, `wait` run, then what happened recorded and compared. */
    async function step(name: string, readme: string, change: () => void, wait: () => Promise<void>, switchedTo?: Colour): Promise<StepRecord> {
      await recorder.begin();
      change();
      // For a switch: when the API server holds the new selector (kubectl applies the objects one by one).
      let selectorAt: number | undefined;
      let polling = !!switchedTo;
      const poll = (async () => {
        while (polling) {
          const svc = await api.get<{ spec: { selector?: Record<string, string> } }>(`/api/v1/namespaces/${NS}/services/rollcall`).catch(() => undefined);
          if (svc?.spec.selector?.['rollcall/colour'] === switchedTo) {
            selectorAt = Date.now();
            return;
          }
          await sleep(50);
        }
      })();
      const applied = await applyTree();
      if (switchedTo) await Promise.race([poll, sleep(5_000)]);
      polling = false;
      assert.ok(!switchedTo || selectorAt, `the client Service selects ${switchedTo} after the apply`);
      await nameRevisions(recorder, releases);
      await wait();
      await sleep(500); // the recorder's last poll (every 250 ms) sees the state the wait ended on
      const events = await recorder.end();
      // A pod made before its revision was named (the apply's first seconds) gets its release now.
      for (const e of events) if (e.release === '?') e.release = recorder.names.get(e.revision) ?? '?';
      const rec: StepRecord = {
        step: name,
        readme,
        appliedAt: applied.at,
        applyMs: applied.ms,
        ...(selectorAt ? { selectorChangedMs: selectorAt - applied.started } : {}),
        events,
        deleted: events.filter((e) => e.event === 'deleting').map((e) => e.pod),
        created: events.filter((e) => e.event === 'created').map((e) => e.pod),
        clients: summarize(applied.started, Date.now(), switchedTo, selectorAt),
        notes: [],
      };
      steps.push(rec);
      const c = rec.clients;
      console.log(`# ${name}: created ${rec.created.join(', ') || 'none'}; deleted ${rec.deleted.join(', ') || 'none'}; new connections ${JSON.stringify(c.new)}; kept ${JSON.stringify(c.kept)}; errors ${JSON.stringify(c.errors)}${switchedTo ? `; selector changed ${rec.selectorChangedMs} ms into the ${rec.applyMs} ms apply; last old ${c.lastOldMs ?? '-'} ms, first new ${c.firstNewMs ?? '-'} ms, all new after ${c.allNewAfterMs ?? 'never'} ms; kept connection ${JSON.stringify(c.keptAfter)}` : ''}`);
      return rec;
    }
    const differ = (rec: StepRecord, what: string) => {
      rec.notes.push(what);
      findings.push(`${rec.step}: ${what}`);
    };

    // Launch: the committed state (blue active, 3 replicas; green idle at 0), on the bundle's image tag.
    editColour('blue', { tag: base });
    editColour('green', { tag: base });
    const launch = await step('launch', 'blue active with 3 replicas, green idle at 0', () => undefined, () => colourReady(recorder, 'blue', 3));
    assert.deepEqual(launch.created, ['rollcall-blue-0', 'rollcall-blue-1', 'rollcall-blue-2'], 'OrderedReady: blue-0, -1, -2 in order');
    const svc = await api.get<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${NS}/services/rollcall`);
    client = spawn('nsenter', [`--net=/run/netns/${cp.netns}`, '--', process.execPath, '-e', clientScript, svc.spec.clusterIP, '5000', String(CLIENT_PERIOD_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: client.stdout! }).on('line', (line) => samples.push(JSON.parse(line) as ClientSample));
    await eventually('the client reaches blue through the ClusterIP', 30_000, async () => (samples.some((s) => colourOf(s.pod) === 'blue') ? true : undefined));

    // A good release to the idle colour: green on the new tag, scaled to 3.
    releases.green = 'good';
    const release = await step('release good to green', 'green-0..2 start on the new release with their own volumes; clients still reach blue only; blue untouched',
      () => editColour('green', { tag: good, replicas: 3 }), () => colourReady(recorder, 'green', 3));
    if (JSON.stringify(release.created) !== JSON.stringify(['rollcall-green-0', 'rollcall-green-1', 'rollcall-green-2'])) differ(release, `created ${release.created.join(', ')}, not green-0, -1, -2 in order`);
    if (release.deleted.length > 0) differ(release, `deleted ${release.deleted.join(', ')}`);
    if (Object.keys(release.clients.new).some((k) => !k.startsWith('blue')) || Object.keys(release.clients.kept).some((k) => !k.startsWith('blue'))) differ(release, `clients reached ${JSON.stringify(release.clients)} during the release, not blue only`);

    // The switch, the switch back while blue still runs, and the switch again.
    const switches: [string, Colour][] = [['switch to green', 'green'], ['switch back to blue (blue still running)', 'blue'], ['switch to green again', 'green']];
    for (const [name, to] of switches) {
      const keptBefore = colourOf(samples.filter((x) => x.connection === 'kept' && !x.error).at(-1)?.pod);
      const rec = await step(name, `no pod starts or stops; new connections on ${to} within a second or two; connections already open finish on the old colour`,
        () => editActive(to), () => sleep(SWITCH_OBSERVE_MS), to);
      if (rec.created.length + rec.deleted.length > 0) differ(rec, `pods changed: created ${rec.created.join(', ') || 'none'}, deleted ${rec.deleted.join(', ') || 'none'}`);
      if (rec.clients.allNewAfterMs === undefined) differ(rec, `new connections still reached ${other(to)} at the end of ${SWITCH_OBSERVE_MS / 1000} s`);
      else if (rec.clients.allNewAfterMs > README_SWITCH_MS) differ(rec, `every new connection landed on ${to} only ${rec.clients.allNewAfterMs} ms after the apply (README: usually within a second or two)`);
      if (Object.keys(rec.clients.errors).some((k) => k.startsWith('new'))) differ(rec, `new connections failed during the switch: ${JSON.stringify(rec.clients.errors)}`);
      // The README: a connection already open stays on the colour it was opened to (both colours run here).
      const kept = Object.keys(rec.clients.keptAfter ?? {});
      if (kept.length !== 1 || kept[0] !== keptBefore) differ(rec, `the kept-alive connection was on ${keptBefore} before the switch and answered ${JSON.stringify(rec.clients.keptAfter)} after it`);
    }

    // The old colour scaled down once the new one has proven itself: its claims stay.
    const scaleDown = await step('scale down blue', 'rollcall-blue-* stop; their claims stay (whenScaled: Retain); clients on green',
      () => editColour('blue', { replicas: 0 }), () => colourReady(recorder, 'blue', 0));
    if (JSON.stringify(scaleDown.deleted) !== JSON.stringify(['rollcall-blue-2', 'rollcall-blue-1', 'rollcall-blue-0'])) differ(scaleDown, `deleted ${scaleDown.deleted.join(', ')}, not blue-2, -1, -0 (OrderedReady scales down in reverse)`);
    const claims = await api.get<{ items: { metadata: { name: string } }[] }>(`/api/v1/namespaces/${NS}/persistentvolumeclaims`);
    const blueClaims = claims.items.map((c) => c.metadata.name).filter((n) => n.includes('rollcall-blue-')).sort();
    scaleDown.notes.push(`blue's claims after the scale-down: ${blueClaims.join(', ')}`);
    if (blueClaims.length !== 3) differ(scaleDown, `blue's claims after the scale-down: ${blueClaims.join(', ') || 'none'}, not all three`);
    if (Object.keys(scaleDown.clients.new).some((k) => !k.startsWith('green'))) differ(scaleDown, `new connections reached ${JSON.stringify(scaleDown.clients.new)}`);
    // The kept-alive connection, on blue since the launch, moves to green when blue's pods stop.
    const lastKept = samples.filter((x) => x.connection === 'kept' && !x.error).at(-1);
    if (colourOf(lastKept?.pod) !== 'green') differ(scaleDown, `the kept-alive connection still answers from ${lastKept?.pod} after blue's scale-down`);
    if (Object.keys(scaleDown.clients.errors).length > 0) differ(scaleDown, `clients failed during the scale-down: ${JSON.stringify(scaleDown.clients.errors)}`);

    // A crashing release to the idle colour (blue): never Ready, so (OrderedReady) only blue-0 is made.
    releases.blue = 'crash';
    crashing.add('blue');
    const crash = await step('release crashing to blue', 'the idle colour never becomes Ready and never receives client traffic; the switch is a separate commit nobody should make while the preview is not Ready',
      () => editColour('blue', { tag: bad, replicas: 3 }), () => sleep(CRASH_OBSERVE_MS));
    const crashPods = (await recorder.snapshot()).filter((p: PodObj) => colourOf(p.metadata.name) === 'blue');
    crash.notes.push(`blue after ${CRASH_OBSERVE_MS / 1000} s: ${crashPods.map((p) => `${p.metadata.name} ready=${isReady(p)} restarts=${p.status.containerStatuses?.[0]?.restartCount ?? 0}`).join(', ')}`);
    const preview = await api.get<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=rollcall-preview')}`);
    const readyPreview = preview.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).length;
    crash.notes.push(`the preview Service has ${readyPreview} ready endpoint(s)`);
    if (crashPods.some(isReady)) differ(crash, 'a pod of the crashing release became Ready');
    if (Object.keys(crash.clients.new).some((k) => !k.startsWith('green'))) differ(crash, `clients reached ${JSON.stringify(crash.clients.new)}, not green only`);

    // The switch made anyway: nothing in the tree or the cluster refuses it (under Argo CD the smoke hook fails the
    // sync afterwards, at its deadline); then the switch back.
    const badSwitch = await step('switch to the crashing blue (made anyway)', 'nothing stops the commit; the smoke test fails the sync afterwards; then switch back',
      () => editActive('blue'), () => sleep(SWITCH_OBSERVE_MS), 'blue');
    badSwitch.notes.push(`new connections after the switch: ${JSON.stringify(badSwitch.clients.new)}, failures ${JSON.stringify(badSwitch.clients.errors)}`);
    // The README: with no ready pod behind the Service, every new connection is refused until the switch back.
    const switchedAt = badSwitch.appliedAt - badSwitch.applyMs + (badSwitch.selectorChangedMs ?? 0);
    const answered = samples.filter((x) => x.connection === 'new' && x.t >= switchedAt + 2 * CLIENT_PERIOD_MS && x.t < badSwitch.appliedAt + SWITCH_OBSERVE_MS && !x.error);
    if (answered.length > 0) differ(badSwitch, `${answered.length} new connection(s) were answered (by ${[...new Set(answered.map((x) => x.pod))].join(', ')}) after the switch to a colour with no ready pod`);
    const back = await step('switch back to green', 'clients are back as fast as the switch went; no pod starts or stops',
      () => editActive('green'), () => sleep(SWITCH_OBSERVE_MS), 'green');
    if (back.clients.allNewAfterMs === undefined || back.clients.allNewAfterMs > README_SWITCH_MS) differ(back, `every new connection was back on green ${back.clients.allNewAfterMs ?? 'never'} ms after the apply`);
    if (back.created.length + back.deleted.length > 0) differ(back, `pods changed: created ${back.created.join(', ') || 'none'}, deleted ${back.deleted.join(', ') || 'none'}`);

    // The crashing release's commit reverted: blue back to 0 replicas and its previous tag.
    releases.blue = 'launch';
    crashing.delete('blue');
    const revert = await step('revert the crashing release (blue to 0, previous tag)', 'blue back at 0 replicas; no manual step named',
      () => editColour('blue', { tag: base, replicas: 0 }), async () => {
        try {
          await colourReady(recorder, 'blue', 0, 45_000);
        } catch {
          const stuck = (await recorder.snapshot()).filter((p) => colourOf(p.metadata.name) === 'blue').map((p) => p.metadata.name);
          findings.push(`revert: blue's pods ${stuck.join(', ')} were still there 45 s after the revert; deleted by hand`);
          for (const name of stuck) await api.request('DELETE', `/api/v1/namespaces/${NS}/pods/${name}`);
          await colourReady(recorder, 'blue', 0);
        }
      });
    if (Object.keys(revert.clients.new).some((k) => !k.startsWith('green'))) differ(revert, `clients reached ${JSON.stringify(revert.clients.new)}`);

    assert.deepEqual(findings, []);
  });
});
