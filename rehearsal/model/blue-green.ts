// The blue-green overlay (kustomize/overlays/blue-green) as the rehearsal runner needs it: which colour is active
// and what each colour runs (read from the rendered overlay), the Git changes of a release and of a rollback as
// steps, what each step does to the state, and which colour a new client connection reaches at a given time after
// the client Service's selector changed. Pure: no clock, no processes. Starting and stopping a colour's pods is
// the StatefulSet controller's business (the runner's StatefulSet model), not this module's.
//
// Rules and their sources:
// - A Service sends traffic to the ready pods its selector matches; a selector change reaches the data path only
//   when the EndpointSlices are rewritten and kube-proxy on each node resyncs its rules
//   (https://kubernetes.io/docs/reference/networking/virtual-ips/, "kube-proxy ... watches ... EndpointSlice";
//   kube-proxy's --iptables-min-sync-period, default 1s: https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/).
//   Connections already open stay on the pod they reached (the rules apply to new connections).
// - Scaling a StatefulSet down keeps its claims with whenScaled: Retain, so a later scale-up finds the same
//   counters (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention).
// - The bundle's own rules (bundle/policy-blue-green.ts): the active colour is scaled up; the preview Service
//   selects the other colour.

export const colours = ['blue', 'green'] as const;
export type Colour = (typeof colours)[number];
export const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');
/** The label on each colour's selector and pods (kustomize/overlays/blue-green/colours/*). */
export const colourLabel = 'rollcall/colour';
/** kube-proxy's default --iptables-min-sync-period: the usual lower bound of the delay; the runner may use another. */
export const defaultEndpointPropagationMs = 1000;

export class BlueGreenModelError extends Error {
  override name = 'BlueGreenModelError';
}

export interface ColourState {
  /** The image tag: the version its pods report (the app reports the version baked into its image; no APP_VERSION). */
  version: string;
  replicas: number;
}

export interface BlueGreenState {
  /** The colour the client Service selects. */
  active: Colour;
  colours: Record<Colour, ColourState>;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The state the rendered overlay declares: StatefulSets rollcall-<colour>, the client Service `rollcall`. */
export function readBlueGreen(objects: readonly unknown[]): BlueGreenState {
  const list = objects.map(rec);
  const state: Partial<Record<Colour, ColourState>> = {};
  for (const c of colours) {
    const sts = list.find((o) => o['kind'] === 'StatefulSet' && rec(o['metadata'])['name'] === `rollcall-${c}`);
    if (!sts) throw new BlueGreenModelError(`StatefulSet rollcall-${c} is not in the overlay`);
    const spec = rec(sts['spec']);
    const container = arr(rec(rec(spec['template'])['spec'])['containers']).map(rec).find((x) => x['name'] === 'rollcall');
    const tag = /:([^:/@]+)$/.exec(String(container?.['image'] ?? ''))?.[1];
    if (!tag) throw new BlueGreenModelError(`rollcall-${c}: the rollcall container has no image tag`);
    const replicas = spec['replicas'] ?? 1;
    if (typeof replicas !== 'number') throw new BlueGreenModelError(`rollcall-${c}: spec.replicas is not a number`);
    state[c] = { version: tag, replicas };
  }
  const client = list.find((o) => o['kind'] === 'Service' && rec(o['metadata'])['name'] === 'rollcall');
  const active = rec(rec(client?.['spec'])['selector'])[colourLabel];
  if (active !== 'blue' && active !== 'green') throw new BlueGreenModelError(`the client Service rollcall must select ${colourLabel} blue or green, got ${JSON.stringify(active)}`);
  return { active, colours: state as Record<Colour, ColourState> };
}

/** One Git change of the overlay's README, as the runner applies it. */
export type Step =
  | { kind: 'release'; colour: Colour; version: string; replicas: number }
  | { kind: 'switch'; to: Colour }
  | { kind: 'scale-down'; colour: Colour };

/** What a step does to the declared state; refuses what the bundle's validation refuses or what would cut traffic. */
export function applyStep(state: BlueGreenState, step: Step): BlueGreenState {
  const next: BlueGreenState = { active: state.active, colours: { blue: { ...state.colours.blue }, green: { ...state.colours.green } } };
  switch (step.kind) {
    case 'release':
      if (step.colour === state.active) throw new BlueGreenModelError(`release to ${step.colour}, the active colour: a release goes to the idle colour`);
      if (step.replicas < 1) throw new BlueGreenModelError('a release needs replicas >= 1');
      next.colours[step.colour] = { version: step.version, replicas: step.replicas };
      return next;
    case 'switch':
      if (state.colours[step.to].replicas < 1) throw new BlueGreenModelError(`switch to ${step.to}, which is scaled to 0: scale it up first (the validation refuses an active colour at 0)`);
      next.active = step.to;
      return next;
    case 'scale-down':
      if (step.colour === state.active) throw new BlueGreenModelError(`scale-down of ${step.colour}, the active colour: switch first`);
      next.colours[step.colour] = { ...next.colours[step.colour], replicas: 0 };
      return next;
  }
}

/**
 * The README's release, in order: release to the idle colour (at the active colour's size), switch to it, scale the
 * old colour down. The runner waits between the steps (idle colour Ready before the switch; the old colour kept up
 * while the new one proves itself, so a rollback is instant).
 */
export function releaseSteps(state: BlueGreenState, version: string): Step[] {
  const idle = other(state.active);
  return [
    { kind: 'release', colour: idle, version, replicas: state.colours[state.active].replicas },
    { kind: 'switch', to: idle },
    { kind: 'scale-down', colour: state.active },
  ];
}

/** Rolling back after a switch = switching back, which works while the old colour is still up (before its scale-down). */
export function rollbackSteps(state: BlueGreenState): Step[] {
  const previous = other(state.active);
  if (state.colours[previous].replicas < 1) {
    return [
      { kind: 'release', colour: previous, version: state.colours[previous].version, replicas: state.colours[state.active].replicas },
      { kind: 'switch', to: previous },
    ];
  }
  return [{ kind: 'switch', to: previous }];
}

/** A selector change of the client Service, at the time its sync applied it (the runner's clock, ms). */
export interface SelectorChange {
  atMs: number;
  to: Colour;
}

/**
 * The colour a new connection opened at `tMs` reaches: the selector in force `propagationMs` earlier (the change is
 * in the API at once but reaches kube-proxy's rules only after the endpoint propagation delay).
 */
export function routedColour(initial: Colour, changes: readonly SelectorChange[], propagationMs: number, tMs: number): Colour {
  if (!(propagationMs >= 0)) throw new BlueGreenModelError(`propagationMs must be >= 0, got ${propagationMs}`);
  let colour = initial;
  for (const ch of [...changes].sort((a, b) => a.atMs - b.atMs)) {
    if (ch.atMs + propagationMs <= tMs) colour = ch.to;
  }
  return colour;
}

/** Pods running at once while a release is in flight: both colours' replicas (the README's "twice the pods"). */
export const podsRunning = (state: BlueGreenState): number => state.colours.blue.replicas + state.colours.green.replicas;
