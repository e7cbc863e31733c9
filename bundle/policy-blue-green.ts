// Policy of the blue-green overlay (kustomize/overlays/blue-green): two StatefulSets, rollcall-blue and
// rollcall-green. Each colour gets every check a single-StatefulSet overlay gets (bundle/policy.ts), run on a view of
// the overlay in which that colour is "the" StatefulSet; then the rules only blue-green has: the colour label in
// both selectors, selectors that never overlap, the client Service on exactly one (scaled-up) colour, the preview
// Service on the other, the smoke test on the active colour with its image, and the release rule for two colours.
//
// Image tag = package.json's version, for two colours (colourReleaseProblems): each colour's tag is the release its
// pods run and report (the app reports the version baked into its image). The image built from this tree carries
// package.json's version, so ONE colour at least must run exactly that version: the colour that got the release in
// this commit (or both, between releases). The other colour may keep an EARLIER release (the previous one, kept up
// for an instant switch back until its scale-down); a LATER one is refused, since no commit has built it yet
// (a colour's newTag bumped without `npm run release -- X.Y.Z`).
import { appName, arr, rec, selectorMatches } from './policy-basics.ts';
import { describe } from './schema.ts';
import type { K8sObject, Problem } from './types.ts';

export const blueGreenOverlay = 'blue-green';
export const colours = ['blue', 'green'] as const;
export type Colour = (typeof colours)[number];
/** The label that tells the colours apart; part of each StatefulSet's (immutable) selector. */
export const colourLabel = 'rollcall/colour';
// 'rollcall' (appName): policy.ts imports this module, so its constants are not readable while this one loads.
export const previewServiceName = 'rollcall-preview';
export const setName = (c: Colour) => `${appName}-${c}`;

/** The shared checks of one StatefulSet overlay; `version` is the release its tag must equal. */
type CheckOne = (overlay: string, objects: readonly K8sObject[], version: string) => Problem[];
type Rec = Record<string, unknown>;

const podLabelsOf = (sts: K8sObject) => rec(rec(rec(sts['spec'])['template'])['metadata'])['labels'] as Record<string, string> | undefined ?? {};
const serviceSelects = (svc: K8sObject, labels: Record<string, string>) => {
  const sel = rec(rec(svc['spec'])['selector']);
  return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
};
const smokeEnv = (job: K8sObject) => arr(rec(arr(rec(rec(rec(job['spec'])['template'])['spec'])['containers'])[0])['env']).map(rec);
const tagOf = (image: string) => /:([^:/@]+)$/.exec(image)?.[1];
const appImage = (sts: K8sObject) => String(rec(arr(rec(rec(rec(sts['spec'])['template'])['spec'])['containers']).map(rec).find((c) => c['name'] === appName))['image'] ?? '');

/**
 * The overlay as the shared checks expect it, for one colour: its StatefulSet renamed to `rollcall`, the other one
 * left out, only the non-headless Service that selects this colour, and the smoke test pointed at it (whether the
 * smoke test really points at the active colour is checked below, once).
 */
function viewOf(objects: readonly K8sObject[], sts: K8sObject, headlessName: unknown): K8sObject[] {
  const labels = podLabelsOf(sts);
  const replicas = rec(sts['spec'])['replicas'];
  const out: K8sObject[] = [];
  for (const o of objects) {
    if (o.kind === 'StatefulSet') {
      if (o === sts) out.push({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), name: appName } });
    } else if (o.kind === 'Service' && o.metadata?.name !== headlessName && !serviceSelects(o, labels)) {
      continue;
    } else if (o.kind === 'Job' && o.metadata?.name === 'rollcall-smoke') {
      const job = structuredClone(o) as Rec & K8sObject;
      const c = rec(arr(rec(rec(rec(job['spec'])['template'])['spec'])['containers'])[0]);
      c['image'] = appImage(sts);
      for (const e of arr(c['env']).map(rec)) {
        if (e['name'] === 'SMOKE_STATEFULSET') e['value'] = appName;
        if (e['name'] === 'SMOKE_REPLICAS') e['value'] = String(replicas);
      }
      out.push(job);
    } else out.push(o);
  }
  return out;
}

/**
 * Order of two release versions X.Y.Z[-pre] (the form scripts/release.ts accepts), by Semantic Versioning 2.0.0 §11:
 * X, Y, Z numerically, then a pre-release below its release, pre-release identifiers numeric < text. Hand-written:
 * the one comparison the bundle needs, where the `semver` package is only a transitive dependency here.
 * Returns < 0, 0, > 0; undefined when either is not such a version.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const parse = (v: string) => /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v);
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return undefined;
  for (let i = 1; i <= 3; i++) if (Number(pa[i]) !== Number(pb[i])) return Number(pa[i]) - Number(pb[i]);
  if (pa[4] === undefined || pb[4] === undefined) return (pa[4] === undefined ? 1 : 0) - (pb[4] === undefined ? 1 : 0);
  const ia = pa[4].split('.');
  const ib = pb[4].split('.');
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const [x, y] = [ia[i]!, ib[i]!];
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (x === y) continue;
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return ia.length - ib.length;
}

/** The release rule for two colours (see the header): one colour on package.json's version, none on a later one. */
export function colourReleaseProblems(tags: Readonly<Record<Colour, string | undefined>>, packageVersion: string): { colour: Colour | undefined; message: string }[] {
  const out: { colour: Colour | undefined; message: string }[] = [];
  for (const c of colours) {
    const tag = tags[c];
    const order = tag === undefined ? undefined : compareVersions(tag, packageVersion);
    if (order === undefined) out.push({ colour: c, message: `tag ${JSON.stringify(tag)} must be a release version X.Y.Z, comparable with package.json's ${JSON.stringify(packageVersion)}` });
    else if (order > 0) out.push({ colour: c, message: `tag ${tag} is later than package.json's version ${packageVersion}: no commit has built it (run npm run release -- ${tag} first)` });
  }
  if (out.length === 0 && !colours.some((c) => tags[c] === packageVersion)) {
    out.push({ colour: undefined, message: `one colour must run package.json's version ${packageVersion} (the release of this commit; npm run release -- X.Y.Z, then that tag in colours/<idle>), got ${colours.map((c) => `${c} ${String(tags[c])}`).join(', ')}` });
  }
  return out;
}

export function checkBlueGreen(objects: readonly K8sObject[], packageVersion: string, checkOne: CheckOne): Problem[] {
  const overlay = blueGreenOverlay;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    const key = JSON.stringify(p);
    if (!seen.has(key)) (seen.add(key), problems.push(p));
  };
  const add = (obj: K8sObject | string, field: string, message: string) => push({ scope: overlay, object: typeof obj === 'string' ? obj : describe(obj), field, message });

  const sets = objects.filter((o) => o.kind === 'StatefulSet');
  const byColour = new Map<Colour, K8sObject>();
  for (const c of colours) {
    const sts = sets.find((s) => s.metadata?.name === setName(c));
    if (sts) byColour.set(c, sts);
    else add(`StatefulSet/${setName(c)}`, '', `the ${c} colour is missing`);
  }
  for (const s of sets) if (!colours.some((c) => setName(c) === s.metadata?.name)) add(s, '', `only ${colours.map(setName).join(' and ')} belong in ${overlay}`);
  if (byColour.size !== colours.length) return problems;

  // --- every shared check, once per colour, the tag against the colour's own release (the rule for two is below) ---
  const tags = { blue: tagOf(appImage(byColour.get('blue')!)), green: tagOf(appImage(byColour.get('green')!)) };
  for (const [c, sts] of byColour) {
    for (const p of checkOne(overlay, viewOf(objects, sts, rec(sts['spec'])['serviceName']), tags[c] ?? packageVersion)) {
      push(p.object === `StatefulSet/${appName}` ? { ...p, object: `StatefulSet/${setName(c)}` } : p);
    }
  }

  // --- the colours ---
  const blue = byColour.get('blue')!;
  const green = byColour.get('green')!;
  for (const [c, sts] of byColour) {
    const spec = rec(sts['spec']);
    if (rec(rec(spec['selector'])['matchLabels'])[colourLabel] !== c) add(sts, `spec.selector.matchLabels[${colourLabel}]`, `must be ${c} (the colour is part of the immutable selector)`);
    if (podLabelsOf(sts)[colourLabel] !== c) add(sts, `spec.template.metadata.labels[${colourLabel}]`, `must be ${c}`);
  }
  if (selectorMatches(rec(blue['spec'])['selector'], podLabelsOf(green)) || selectorMatches(rec(green['spec'])['selector'], podLabelsOf(blue))) {
    add(blue, 'spec.selector', 'selects the other colour\'s pods too: the two StatefulSets would fight over them');
  }
  if (rec(blue['spec'])['serviceName'] !== rec(green['spec'])['serviceName']) add(green, 'spec.serviceName', 'both colours use the same headless Service');

  for (const { colour, message } of colourReleaseProblems(tags, packageVersion)) {
    add(colour ? byColour.get(colour)! : `StatefulSet/${setName('blue')}`, `spec.template.spec.containers[${appName}].image`, message);
  }

  // --- client and preview Services ---
  const service = (name: string) => objects.find((o) => o.kind === 'Service' && o.metadata?.name === name);
  const colourOf = (svc: K8sObject | undefined): Colour[] => (svc ? colours.filter((c) => serviceSelects(svc, podLabelsOf(byColour.get(c)!))) : []);
  const client = service(appName);
  const preview = service(previewServiceName);
  const active = colourOf(client);
  const idle = colourOf(preview);
  if (!client || active.length !== 1) add(client ?? `Service/${appName}`, `spec.selector[${colourLabel}]`, `the client Service must select exactly one colour, selects ${active.join(' and ') || 'none'}`);
  if (!preview || idle.length !== 1) add(preview ?? `Service/${previewServiceName}`, `spec.selector[${colourLabel}]`, `the preview Service must select exactly one colour, selects ${idle.join(' and ') || 'none'}`);
  if (active.length !== 1) return problems;
  const activeColour = active[0]!;
  const activeSet = byColour.get(activeColour)!;
  if (idle.length === 1 && idle[0] === activeColour) add(preview!, `spec.selector[${colourLabel}]`, `must be the idle colour, not ${activeColour} (the active one)`);
  const activeReplicas = rec(activeSet['spec'])['replicas'];
  if (typeof activeReplicas !== 'number' || activeReplicas < 1) add(activeSet, 'spec.replicas', `the active colour must be scaled up, got ${JSON.stringify(activeReplicas)}`);

  // --- the smoke test checks what clients reach ---
  const smoke = objects.find((o) => o.kind === 'Job' && o.metadata?.name === 'rollcall-smoke');
  if (smoke) {
    const env = new Map(smokeEnv(smoke).map((e) => [String(e['name']), e['value']]));
    const f = 'spec.template.spec.containers[0]';
    if (env.get('SMOKE_STATEFULSET') !== setName(activeColour)) add(smoke, `${f}.env[SMOKE_STATEFULSET]`, `must be the active colour ${setName(activeColour)}, got ${JSON.stringify(env.get('SMOKE_STATEFULSET'))}`);
    if (env.get('SMOKE_REPLICAS') !== String(activeReplicas)) add(smoke, `${f}.env[SMOKE_REPLICAS]`, `must be ${String(activeReplicas)} (the active colour's replicas), got ${JSON.stringify(env.get('SMOKE_REPLICAS'))}`);
    const image = rec(arr(rec(rec(rec(smoke['spec'])['template'])['spec'])['containers'])[0])['image'];
    if (image !== appImage(activeSet)) add(smoke, `${f}.image`, `must be the active colour's image ${appImage(activeSet)}, got ${JSON.stringify(image)}`);
  }
  return problems;
}
