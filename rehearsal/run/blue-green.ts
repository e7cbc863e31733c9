// The blue-green overlay rehearsed with real server processes: two StatefulSets (statefulset.ts, one per colour, each
// pod with its own volume) and a client Service whose selector names the active colour. Each release scenario runs
// the README's Git steps, in the order the model gives them (rehearsal/model/blue-green.ts releaseSteps):
//   release to the idle colour (its pods start per its podManagementPolicy; clients still reach the active colour)
//   → once every idle pod is Ready and available, switch the client Service's selector (clients move after the
//   endpoint propagation delay: routedColour) → watch the new colour under traffic (release-watch.ts) → good: the
//   old colour is kept up until the watch is satisfied, then scaled to 0 (its volumes kept); bad: switch back
//   (rollbackSteps: instant, the old colour never stopped), then revert the release (the bad colour to 0).
// A release that never becomes Ready on the idle colour (crash, unready) is never switched to: the person reverts the
// release commit (the idle colour back to 0 replicas and its previous tag, the README's first row) and clients never
// see it. The steps are applied as `kubectl apply` of each commit (on a real cluster with Argo CD: as commits it syncs).
// The pair runs on the model or on a real cluster (options.cluster), through the seam (rehearsal/cluster/seam.ts
// RehearsalBlueGreen): the runner only declares each commit's state and reads what the cluster did.
import { modelCluster } from '../cluster/model.ts';
import type { ColourStatefulSet } from '../cluster/seam.ts';
import { applyStep, colours, other, releaseSteps, rollbackSteps, type BlueGreenState, type Colour, type Step } from '../model/blue-green.ts';
import { median, POD_START_LATENCY_MS } from '../model/pod-start.ts';
import { DEFAULT_WATCH_RULES, judge, type Verdict } from '../model/release-watch.ts';
import type { RolloutPlan } from '../plan.ts';
import type { MarkerKind, ReleaseScenario, RunResult } from '../result.ts';
import { RunTimelines, runResult, watchObservation } from './recorder.ts';
import type { RehearsalOptions } from './options.ts';
import { badReleaseEnv } from './scenarios.ts';
import type { Template } from './statefulset.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TICK_MS = 20;
/** No pod of the colour exists any more (scaled to 0 and every pod gone). */
const empty = (set: ColourStatefulSet) => set.views().every((pod) => pod === undefined);

export async function rehearseBlueGreen(plan: RolloutPlan, scenarios: readonly ReleaseScenario[], options: RehearsalOptions): Promise<RunResult[]> {
  if (!plan.blueGreen) throw new Error(`${plan.overlay}: not a blue-green plan`);
  const cluster = options.cluster ?? modelCluster;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const scaled = (ms: number) => Math.round(ms * options.timeScale);
  const rules = options.watch ?? DEFAULT_WATCH_RULES;
  const timelines = new RunTimelines(now);

  let state: BlueGreenState = plan.blueGreen;
  const size = Math.max(plan.replicas, state.colours.blue.replicas, state.colours.green.replicas);
  const templates: Record<Colour, Template> = {
    blue: { revision: 'blue-r0', version: state.colours.blue.version, env: {} },
    green: { revision: 'green-r0', version: state.colours.green.version, env: {} },
  };
  /** What each colour's StatefulSet runs as committed (a release to the idle colour is its template until reverted). */
  const declared: Record<Colour, Template> = { ...templates };
  const pair = await cluster.blueGreen(
    {
      plan: { ...plan, replicas: size },
      timeScale: options.timeScale,
      endpointPropagationMs: options.endpointPropagationMs,
      podStartLatencyMs: options.podStartLatencyMs ?? POD_START_LATENCY_MS,
      ...(options.kubernetesVersion ? { kubernetesVersion: options.kubernetesVersion } : {}),
      ...(options.clients ? { clients: options.clients } : {}),
      now,
      onAction: (action, pod, atMs) => timelines.onAction(action, pod, atMs),
    },
    state,
    declared,
  );
  const sets = pair.sets;
  const routed = () => pair.routed().colour;
  /** What the recorder samples: both colours' lanes; Ready = the Ready pods of the colour clients reach. */
  const lanes = {
    displayStates: () => [...sets.blue.displayStates(), ...sets.green.displayStates()],
    readyCount: () => sets[routed()].readyCount(),
  };

  const phaseLimitMs = 120_000 + scaled(size * (plan.minReadyMs + (plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 0) + plan.terminationGraceMs));
  const until = async (what: string, condition: () => boolean) => {
    const deadline = now() + phaseLimitMs;
    while (!condition()) {
      if (now() > deadline) {
        const pods = lanes.displayStates().map((p) => `${p.name} ${p.state} ${p.version ?? '-'}`);
        throw new Error(`${plan.overlay}: ${what} did not happen within ${Math.round(phaseLimitMs / 1000)} s; pods: ${pods.join(', ')}; active ${state.active}`);
      }
      await sleep(TICK_MS);
    }
  };

  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      pair.tick();
      timelines.sample(lanes);
      await sleep(TICK_MS);
    }
  })();

  try {
    options.progress?.('launch', `launch v1 (${state.active} active)`);
    timelines.launch();
    await until('the launch', () => sets[state.active].readyCount() === state.colours[state.active].replicas);
    const launchToAllReadyMs = Math.round(now());

    const results: RunResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      const active = state.active;
      const idle = other(active);
      const good = templates[active];
      const release: Template = { revision: `${idle}-r${index + 1}`, version: `1.0.${index + 1}`, env: badReleaseEnv(scenario, options.timeScale) };
      for (const set of Object.values(sets)) set.labels = new Map([[good.revision, 'v1'], [release.revision, 'v2']]);
      const { run: recorder, origin, now: runNow } = timelines.begin(index);
      const mark = (kind: MarkerKind, label: string, pod?: string) => recorder.mark(kind, label, pod, runNow());
      const progress = (phase: string) => options.progress?.(scenario, phase);
      // One Git step: the declared state moves (the model refuses what the bundle's validation would refuse), and
      // the StatefulSets / the Service follow it.
      const apply = async (step: Step, label: string, kind: MarkerKind = 'sync') => {
        state = applyStep(state, step);
        if (step.kind === 'release') declared[step.colour] = step.version === release.version ? release : templates[step.colour];
        mark(kind, label);
        await pair.apply(state, declared);
      };

      const countersBefore = await pair.counters();
      const load = pair.load();
      // Kept-alive clients stay on the colour their connection was opened to (load.ts): a switch moves new
      // connections only, and the old colour's clients move when it is scaled down and closes them.
      const keepAlive = options.clients === 'keep-alive';
      try {
        // Clients start once the Service routes to every pod of the active colour: Ready is not yet routed (the
        // endpoint change takes its propagation delay), and a request with no endpoint would read as downtime.
        await until('the Service to route to every pod', () => pair.routed().endpoints === state.colours[routed()].replicas);
        await load.start(options.connections, options.rate);
        const loadStartMs = runNow();
        progress('steady load');
        await sleep(options.steadyMs);

        progress(`release v2 (${scenario}) to ${idle}`);
        const rolloutAtMs = runNow();
        recorder.releaseRevision = release.revision;
        mark('rollout-start', `release v2 to ${idle}${release.env['BAD_RELEASE'] ? ` (BAD_RELEASE=${release.env['BAD_RELEASE']})` : ''}`);
        const [releaseStep, switchStep, scaleDownStep] = releaseSteps(state, release.version);
        await apply(releaseStep!, `git: colours/${idle} newTag ${release.version}, replicas ${state.colours[active].replicas}`);

        const startupBudgetMs = scaled(plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 3 * plan.readiness.periodMs);
        const windowMs = Math.max(1000, scaled(2 * plan.readiness.periodMs));
        const observe = (doneAtMs: number | null) =>
          judge(rules, watchObservation(runNow(), sets[idle].health(release.revision), load.outcomes, (t) => t - t0 - origin, { startupBudgetMs, rolloutDoneAtMs: doneAtMs, windowMs }));
        const deadline = runNow() + 60_000 + scaled(size * (plan.minReadyMs + plan.terminationGraceMs) + startupBudgetMs);
        // 1. The idle colour starts; no client reaches it. Only the pod-health rules can call it bad here.
        let verdict: Verdict = { verdict: 'watching' };
        const idleReady = () => sets[idle].allAvailableAt(release.revision, [...Array(state.colours[idle].replicas).keys()]);
        while (verdict.verdict === 'watching' && !idleReady()) {
          await sleep(TICK_MS * 2);
          verdict = observe(null);
          if (verdict.verdict === 'watching' && runNow() > deadline) verdict = { verdict: 'bad', rule: 'stalled', reason: `${idle} did not become Ready in time` };
        }
        const switched = verdict.verdict === 'watching';
        let doneAtMs: number | null = null;
        if (switched) {
          // 2. Every idle pod Ready and available: switch. Clients move once the change has propagated.
          progress(`switch to ${idle}`);
          await apply(switchStep!, `git: active-${idle} (client Service selector → ${idle})`);
          doneAtMs = runNow() + scaled(options.endpointPropagationMs);
          while (verdict.verdict === 'watching') {
            await sleep(TICK_MS * 2);
            verdict = observe(doneAtMs);
            if (verdict.verdict === 'watching' && runNow() > deadline + 60_000) verdict = { verdict: 'bad', rule: 'stalled', reason: 'no verdict in time' };
          }
        }
        const podsUpdated = recorder.updatedOrdinals.size;
        const stoppedByItself = verdict.verdict === 'bad' && !switched && podsUpdated < state.colours[idle].replicas;

        let revertAtMs: number | null = null;
        let recoveredAtMs: number | null = null;
        const manualSteps: string[] = [];
        let detection: { rule: string; reason: string; afterMs: number } | null = null;
        if (verdict.verdict === 'bad') {
          detection = { rule: verdict.rule, reason: verdict.reason, afterMs: Math.round(runNow() - rolloutAtMs) };
          if (stoppedByItself) mark('stalled', `${idle} stopped starting pods after ${podsUpdated} of ${state.colours[idle].replicas}`);
          mark('detected', `bad release: ${verdict.reason}`);
          revertAtMs = runNow();
          recorder.releaseRevision = undefined;
          // The release commit reverted: the idle colour back to its previous tag and 0 replicas (the controller
          // deletes its pods, highest ordinal first: processCondemned).
          const revertRelease = async () => {
            state = applyStep(state, { kind: 'scale-down', colour: idle });
            state = { ...state, colours: { ...state.colours, [idle]: { ...state.colours[idle], version: templates[idle].version } } };
            declared[idle] = templates[idle];
            mark(switched ? 'sync' : 'revert', `git revert: colours/${idle} back to ${templates[idle].version}, replicas 0`);
            await pair.apply(state, declared);
          };
          if (switched) {
            // A bad release the clients reach: switch back (the old colour is still up); the release is reverted
            // once the clients are back.
            progress(`switch back to ${active}`);
            const [back] = rollbackSteps(state);
            await apply(back!, `git revert: active-${active} (client Service selector back to ${active})`, 'revert');
          } else {
            progress('revert the release');
            await revertRelease();
          }
          await sleep(TICK_MS * 3); // let the controller see the reverted spec before judging what it will not do
          const handled = new Set<string>();
          await until('the recovery', () => {
            for (const colour of colours) {
              const set = sets[colour];
              for (const ordinal of set.podsToDeleteByHand()) {
                const pod = set.podName(ordinal);
                if (handled.has(pod)) continue;
                handled.add(pod);
                manualSteps.push(`kubectl delete pod ${pod}`);
                mark('manual-step', `kubectl delete pod ${pod}`, pod);
                void set.deletePod(ordinal);
              }
            }
            const clientsBack = routed() === active && sets[active].allAvailableAt(good.revision, [...Array(state.colours[active].replicas).keys()]);
            return clientsBack && (switched || empty(sets[idle]));
          });
          recoveredAtMs = runNow();
          mark('done', switched ? (keepAlive ? `new connections to v1 (${active}) again` : `every client back on v1 (${active})`) : `v1 (${active}) serving, ${idle} scaled down`);
          if (switched) await revertRelease();
        } else {
          recorder.markers.push({ atMs: Math.round(doneAtMs ?? runNow()), kind: 'done', label: keepAlive ? `new connections to v2 (${idle}); kept-alive clients move when ${active} is scaled down` : `every client on v2 (${idle})` });
          // 3. Good: the old colour was kept up while the new one proved itself (the watch's window); now scale it down.
          progress(`scale down ${active}`);
          await apply(scaleDownStep!, `git: colours/${active} replicas 0 (volumes kept)`);
          templates[idle] = release;
        }

        progress('steady load');
        await sleep(options.steadyMs);
        const endMs = runNow();
        await load.stop();
        recorder.sample(lanes, endMs);
        const result = runResult({
          overlay: plan.overlay,
          scenario,
          settings: {
            replicas: size,
            podManagementPolicy: plan.podManagementPolicy,
            minReadySeconds: plan.minReadyMs / 1000,
            readinessPeriodSeconds: plan.readiness.periodMs / 1000,
            terminationGracePeriodSeconds: plan.terminationGraceMs / 1000,
            blueGreen: `release to ${idle}, then switch`,
            endpointPropagationMs: options.endpointPropagationMs,
            delivery: cluster.argocdDelivery ? 'a commit of each Git step, synced by the real Argo CD' : cluster.kind === 'real' ? 'kubectl apply --server-side of each Git step' : 'kubectl apply of each Git step',
            timeScale: options.timeScale,
          },
          replicas: state.colours[state.active].replicas,
          run: recorder,
          outcomes: load.outcomes,
          origin: t0 + origin,
          countersBefore,
          countersAfter: await pair.counters(),
          moments: { loadStartMs, rolloutAtMs, revertAtMs, recoveredAtMs, doneAtMs, endMs },
          verdict: { stoppedByItself, podsUpdated, manualSteps, detectMs: null, detection },
        });
        const starts = colours.flatMap((c) => sets[c].podStartSamples?.() ?? []);
        const podStartMs = cluster.kind === 'real' && starts.length > 0 ? median(starts) : (options.podStartLatencyMs ?? POD_START_LATENCY_MS);
        results.push({ ...result, figures: { ...result.figures, launchToAllReadyMs, podStartMs } });
      } finally {
        await load.stop();
      }
      // The next release starts with the idle colour at 0 and its pods gone (not counted in this run's figures).
      await until(`${other(state.active)} scaled down`, () => empty(sets[other(state.active)]));
    }
    return results;
  } finally {
    ticking = false;
    await ticker;
    await pair.close();
  }
}
