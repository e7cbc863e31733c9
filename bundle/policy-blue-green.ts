// Policy of the blue-green overlay (kustomize/overlays/blue-green): two StatefulSets, rollcall-blue and
// rollcall-green. Each colour gets every check a single-StatefulSet overlay gets (bundle/policy.ts), run on a view of
// the overlay in which that colour is "the" StatefulSet; then the rules only blue-green has: the colour label in
// both selectors, selectors that never overlap, the client Service on exactly one (scaled-up) colour, the preview
// Service on the other, and the smoke test on the active colour with its image.
import { appName, arr, rec, selectorMatches } from './policy.ts';
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

type CheckOne = (overlay: string, objects: readonly K8sObject[]) => Problem[];
type Rec = Record<string, unknown>;

const podLabelsOf = (sts: K8sObject) => rec(rec(rec(sts['spec'])['template'])['metadata'])['labels'] as Record<string, string> | undefined ?? {};
const serviceSelects = (svc: K8sObject, labels: Record<string, string>) => {
  const sel = rec(rec(svc['spec'])['selector']);
  return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
};
const smokeEnv = (job: K8sObject) => arr(rec(arr(rec(rec(rec(job['spec'])['template'])['spec'])['containers'])[0])['env']).map(rec);
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

export function checkBlueGreen(objects: readonly K8sObject[], checkOne: CheckOne): Problem[] {
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

  // --- every shared check, once per colour ---
  for (const [c, sts] of byColour) {
    for (const p of checkOne(overlay, viewOf(objects, sts, rec(sts['spec'])['serviceName']))) {
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
