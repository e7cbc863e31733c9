// The real rehearsals the tests check, run once and shared: every test that needs a rehearsal of an overlay reads
// the same real run (real kustomize, real server processes under load, the real delivery code) instead of starting
// its own, and checks the same things it checked on a run of its own.
//
// Under `npm test` the global setup (shared-rehearsal-setup.ts) starts one process that rehearses every group, the
// kubectl ones one after the other (two rehearsals at once would share the CPU and blur each other's figures) and the
// Argo CD one, which mostly waits, beside them (prepareSharedRehearsals), and writes each result
// as JSON into a directory that lives for that one `npm test` run; a test waits for the groups it reads. The test
// files run beside it two at a time (`--test-concurrency=2`, see package.json): a test waiting for a result takes no
// CPU, so the rehearsal shares 2 cores with at most about one busy test file, as a rehearsal test file did when the
// files ran one at a time on a machine doing something else. A test file run on its own (`node --test
// test/x.test.ts`) finds no such directory and rehearses only the groups it asks for, once per process.
//
// A result carries a hash of the sources the rehearsal runs (product code, manifests, this file): one from other
// sources is never used. Every caller gets its own copy, so a test that edits its report changes no other's.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { K8sObject } from '../../bundle/types.ts';
import { findRenderer, noRendererMessage, render } from '../../bundle/render.ts';
import { repoRoot } from '../../bundle/schema.ts';
import { compare, loadPlans } from '../../rehearsal/compare.ts';
import { planFromObjects } from '../../rehearsal/plan.ts';
import type { ComparisonReport, ReleaseScenario, RunResult } from '../../rehearsal/result.ts';
import { argocdDelivery } from '../../rehearsal/run/argocd-delivery.ts';
import { rehearseOverlay } from '../../rehearsal/run/overlay.ts';
import { preparePodEntry } from '../../rehearsal/run/pod-process.ts';

/** The directory of this `npm test` run's shared results (set by the global setup). */
export const SHARED_REHEARSAL_DIR = 'ROLLCALL_SHARED_REHEARSAL_DIR';

/** kubectl delivery at time scale 0.1 with a light load: small enough for a test, long enough to see each rule act. */
export const KUBECTL_OPTIONS = { timeScale: 0.1, connections: 4, rate: 100, steadyMs: 400, endpointPropagationMs: 1000 } as const;

/** The scenarios each overlay is rehearsed with, in this order, on one launch per overlay. rolling × crash comes
 * first so its timeline starts with the launch, as the README's picture of it (test/html-report-browser.test.ts). */
export const KUBECTL_SCENARIOS = {
  rolling: ['crash', 'unready', 'errors'],
  recreate: ['crash'],
  canary: ['errors'],
  'canary-analysis': ['errors'],
  'blue-green': ['good'],
} as const satisfies Record<string, readonly ReleaseScenario[]>;

export type SharedOverlay = keyof typeof KUBECTL_SCENARIOS;
type Group = SharedOverlay | 'argocd-recreate';
/** In the order the test files ask for them when node --test runs them alphabetically: test/argocd-delivery first. */
const GROUPS: readonly Group[] = ['argocd-recreate', ...(Object.keys(KUBECTL_SCENARIOS) as SharedOverlay[])];

/** The Argo CD rehearsal's time scale: the recreate hook's 300 s deadline takes 15 s. */
export const ARGOCD_TIME_SCALE = 0.05;

/** The report of `overlay` rehearsed through `rollcall compare`'s own code with kubectl apply, one run per scenario of
 * KUBECTL_SCENARIOS. */
export async function sharedReport(overlay: SharedOverlay): Promise<ComparisonReport> {
  return JSON.parse(await result(overlay)) as ComparisonReport;
}

/** One run of a shared report. */
export async function sharedRun<O extends SharedOverlay>(overlay: O, scenario: (typeof KUBECTL_SCENARIOS)[O][number]): Promise<RunResult> {
  const run = (await sharedReport(overlay)).runs.find((r) => r.scenario === scenario);
  if (!run) throw new Error(`the shared rehearsal of ${overlay} has no ${scenario} run`);
  return run;
}

/** recreate × crash delivered through the Argo CD model at ARGOCD_TIME_SCALE, with the Application's retry limit set
 * to 0: one hook deadline instead of three keeps it short (test/argocd-delivery.test.ts checks the retries without
 * processes). */
export async function sharedArgocdRun(): Promise<RunResult> {
  return JSON.parse(await result('argocd-recreate')) as RunResult;
}

async function rehearse(group: Group): Promise<unknown> {
  if (group !== 'argocd-recreate') return compare(await loadPlans([group]), KUBECTL_SCENARIOS[group], KUBECTL_OPTIONS);
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  const objects = (await render(renderer, 'kustomize/overlays/recreate', repoRoot)).objects;
  const app = (await render(renderer, 'argocd/application', repoRoot)).objects.find((o) => o.kind === 'Application')!;
  const spec = app['spec'] as { syncPolicy: object };
  const noRetry = { ...app, spec: { ...spec, syncPolicy: { ...spec.syncPolicy, retry: { limit: 0 } } } } as K8sObject;
  // The pods run what `rollcall compare` gives them (the built entry, else the sources), prepared before the clock starts.
  await preparePodEntry();
  const delivery = argocdDelivery({ timeScale: ARGOCD_TIME_SCALE, objects: async () => objects, application: async () => noRetry });
  const [run] = await rehearseOverlay(planFromObjects('recreate', objects), ['crash'], { ...KUBECTL_OPTIONS, timeScale: ARGOCD_TIME_SCALE, delivery });
  return run;
}

/** What a group's file holds: the result, or the error the rehearsal ended with (the tests that read it fail with it). */
interface Stored {
  key: string;
  value?: unknown;
  error?: { message: string; stack?: string };
  seconds: number;
}

async function rehearseStored(group: Group): Promise<Stored> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  try {
    return { key: sourceKey(), value: await rehearse(group), seconds: seconds() };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { key: sourceKey(), error: { message: e.message, ...(e.stack ? { stack: e.stack } : {}) }, seconds: seconds() };
  }
}

function valueOf(group: Group, stored: Stored): string {
  if (stored.error) {
    const error = new Error(`the shared rehearsal ${group} failed: ${stored.error.message}`);
    if (stored.error.stack) error.stack = `${error.message}\n(rehearsal) ${stored.error.stack}`;
    throw error;
  }
  return JSON.stringify(stored.value);
}

const fileOf = (dir: string, group: Group) => path.join(dir, `${group}.json`);

/** Rehearsed in this process, at most once per group, one group after the other (concurrent rehearsals would share
 * the CPU and blur each other's figures, whatever order the tests ask in). */
const here = new Map<Group, Promise<Stored>>();
let queue: Promise<unknown> = Promise.resolve();
function rehearseHere(group: Group): Promise<Stored> {
  if (!here.has(group)) {
    const stored = queue.then(() => rehearseStored(group));
    here.set(group, stored);
    queue = stored;
  }
  return here.get(group)!;
}

/** The file the preparing process (shared-rehearsal-setup.ts) keeps its pid in while it runs. */
export const PREPARER_PID_FILE = 'preparer.pid';
const POLL_MS = 200;

async function result(group: Group): Promise<string> {
  const dir = process.env[SHARED_REHEARSAL_DIR];
  if (dir) {
    const stored = await prepared(dir, group);
    if (stored?.key === sourceKey()) return valueOf(group, stored);
  }
  return valueOf(group, await rehearseHere(group));
}

/** The group's result once the preparing process wrote it; it rehearses the groups in GROUPS order while the test
 * files run. Undefined when this run has no preparer (then the test rehearses here). */
async function prepared(dir: string, group: Group): Promise<Stored | undefined> {
  const pid = Number(await readFile(path.join(dir, PREPARER_PID_FILE), 'utf8').catch(() => ''));
  if (!pid) return undefined;
  for (;;) {
    const text = await readFile(fileOf(dir, group), 'utf8').catch(() => undefined);
    if (text !== undefined) return JSON.parse(text) as Stored;
    if (!alive(pid)) throw new Error(`the shared rehearsal process (pid ${pid}) ended without a result for ${group}: see its output above`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Rehearses every group, one after the other, into `dir` (the global setup's). */
export async function prepareSharedRehearsals(dir: string, log: (line: string) => void): Promise<void> {
  const lane = async (groups: readonly Group[]) => {
    for (const group of groups) {
      const stored = await rehearseStored(group);
      const file = fileOf(dir, group);
      await writeFile(`${file}.tmp`, JSON.stringify(stored));
      await rename(`${file}.tmp`, file);
      log(`shared rehearsal ${group}: ${stored.error ? `FAILED (${stored.error.message.split('\n')[0]})` : 'done'} in ${stored.seconds} s`);
    }
  };
  // Two lanes: the Argo CD rehearsal spends nearly all its time waiting for its hook's deadline with its pods
  // crash-looping (no request succeeds, little CPU), so it runs beside the kubectl groups, which run one after the
  // other as before; together they take the time of the kubectl lane instead of both.
  await Promise.all([lane(GROUPS.filter((g) => g === 'argocd-recreate')), lane(GROUPS.filter((g) => g !== 'argocd-recreate'))]);
}

/** The folders and files whose content a rehearsal depends on: the server it runs, the rehearsal and bundle code, the
 * scripts' shared modules the pods start through, the manifests, the lock file (Node, libraries), this file. */
const SOURCES = ['src', 'rehearsal', 'bundle', 'scripts', 'kustomize', 'argocd', 'package-lock.json', 'testing/support/shared-rehearsal.ts'];

let key: string | undefined;

/** A hash over the path and content of every source file; computed once per process (a few hundred small files). */
export function sourceKey(): string {
  if (key) return key;
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const source of SOURCES) {
    const full = path.join(repoRoot, source);
    if (statSync(full).isFile()) {
      files.push(source);
      continue;
    }
    for (const entry of readdirSync(full, { recursive: true, withFileTypes: true })) {
      const file = path.relative(repoRoot, path.join(entry.parentPath, entry.name));
      // Dot entries are not sources but scratch a test makes while it runs (kustomize/.bad-release-test-*).
      if (entry.isFile() && !file.split(path.sep).some((part) => part.startsWith('.'))) files.push(file);
    }
  }
  for (const file of files.sort()) hash.update(`${file}\0`).update(readFileSync(path.join(repoRoot, file))).update('\0');
  return (key = hash.digest('hex'));
}
