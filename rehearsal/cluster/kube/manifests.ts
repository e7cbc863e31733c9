// What `rollcall compare --cluster` applies: the overlay as kustomize rendered it, with a release's template put in
// the StatefulSet as a release commit would (APP_VERSION, and BAD_RELEASE for a bad release), the pod template
// annotated with the rehearsal's revision name (so every pod says which release it runs), the namespace labelled as
// made by rollcall, and the smoke hook told which version to expect. Pure functions: tested without a cluster.
import type { K8sObject } from '../../../bundle/types.ts';
import { colourLabel, colours, other, type BlueGreenState, type Colour } from '../../model/blue-green.ts';
import type { Template } from '../../run/statefulset.ts';

/** The label on every namespace `compare --cluster` made: only such a namespace is ever deleted or reused. */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'rollcall-compare' } as const;
/** The pod-template annotation naming the rehearsal's template revision (r0, r1, ...). */
export const REVISION_ANNOTATION = 'rollcall.dev/rehearsal-revision';

type Env = { name: string; value?: string; valueFrom?: unknown }[];
type PodTemplate = { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: { name: string; image?: string; env?: Env; ports?: { containerPort: number; name?: string }[] }[] } & Record<string, unknown> };

const setEnv = (env: Env | undefined, name: string, value: string): Env => [...(env ?? []).filter((e) => e.name !== name), { name, value }];

export function namespaceOf(objects: readonly K8sObject[]): string {
  const ns = objects.find((o) => o.kind === 'Namespace')?.metadata?.name ?? objects.find((o) => o.metadata?.namespace)?.metadata?.namespace;
  if (!ns) throw new Error('the overlay names no namespace');
  return ns;
}

/** The overlay's StatefulSet, or the one named `name` (blue-green's two: rollcall-blue, rollcall-green). */
export function statefulSetOf(objects: readonly K8sObject[], name?: string): K8sObject & { spec: { replicas?: number; serviceName?: string; selector: { matchLabels: Record<string, string> }; template: PodTemplate } } {
  const sets = objects.filter((o) => o.kind === 'StatefulSet');
  if (name !== undefined) {
    const named = sets.find((o) => o.metadata?.name === name);
    if (!named) throw new Error(`the overlay has no StatefulSet ${name} (it has ${sets.map((o) => o.metadata?.name).join(', ') || 'none'})`);
    return named as ReturnType<typeof statefulSetOf>;
  }
  if (sets.length !== 1) throw new Error(`--cluster rehearses overlays of one StatefulSet (or blue-green's two, by name); this one has ${sets.length}`);
  return sets[0] as ReturnType<typeof statefulSetOf>;
}

/** The namespace a run on a real cluster uses for `overlay`: its own, beside the one Argo CD or a person deployed the
 * overlay to (rollcall-<overlay>), so a comparison on the cluster the bundle runs on never touches the deployment. */
export const compareNamespace = (overlay: string) => `rollcall-compare-${overlay}`;

/** The overlay moved to namespace `ns`: the Namespace object, every object's metadata.namespace, and the
 * ServiceAccount subjects of RoleBindings that named the old namespace (the only places kustomize puts it). */
export function inNamespace(objects: readonly K8sObject[], ns: string): K8sObject[] {
  const old = namespaceOf(objects);
  return objects.map((original) => {
    const o = structuredClone(original) as K8sObject & { subjects?: { namespace?: string }[] };
    if (o.kind === 'Namespace') o.metadata = { ...o.metadata, name: ns };
    else if (o.metadata?.namespace === old) o.metadata = { ...o.metadata, namespace: ns };
    for (const subject of o.subjects ?? []) if (subject.namespace === old) subject.namespace = ns;
    return o;
  });
}

/** The ClusterIP Service whose selector picks the StatefulSet's pods (blue-green: the active colour's): what clients
 * connect to. */
export function clientServiceOf(objects: readonly K8sObject[], setName?: string): { name: string; port: number } {
  const podLabels = statefulSetOf(objects, setName).spec.template.metadata?.labels ?? {};
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const spec = (o as { spec?: { clusterIP?: string; selector?: Record<string, string>; ports?: { port: number }[] } }).spec;
    if (!spec || spec.clusterIP === 'None' || !spec.selector) continue;
    if (Object.entries(spec.selector).every(([k, v]) => podLabels[k] === v) && spec.ports?.[0]) return { name: o.metadata!.name!, port: spec.ports[0].port };
  }
  throw new Error('the overlay has no ClusterIP Service selecting its StatefulSet pods: clients would have nothing to connect to');
}

/** The port the web container listens on (for reading /visits through the pod proxy). */
export function containerPort(objects: readonly K8sObject[], setName?: string): number {
  const port = statefulSetOf(objects, setName).spec.template.spec.containers[0]?.ports?.[0]?.containerPort;
  if (!port) throw new Error('the StatefulSet\'s first container declares no port');
  return port;
}

/** Argo Rollouts' analysis objects: Argo CD runs the AnalysisRun as a hook, the analysis controller judges it. A run
 * of `compare --cluster` applies with kubectl, so they are left out and the rehearsal's analysis
 * (rehearsal/run/analysis-run.ts) reads the real canary pod through the API server's pod proxy instead. */
export const ANALYSIS_KINDS: readonly string[] = ['AnalysisRun', 'AnalysisTemplate'];

/** The overlay with `template` applied: what a release commit (or its revert) makes the cluster run. A StatefulSet
 * named in `setTemplates` gets its own (blue-green: each colour runs its own release). */
export function releaseObjects(objects: readonly K8sObject[], template: Template, setTemplates: Readonly<Record<string, Template>> = {}): K8sObject[] {
  return objects.filter((o) => !ANALYSIS_KINDS.includes(String(o.kind))).map((original) => {
    const o = structuredClone(original) as K8sObject & { spec?: { template?: PodTemplate } };
    if (o.kind === 'Namespace') {
      o.metadata = { ...o.metadata, labels: { ...o.metadata?.labels, [MANAGED_BY.key]: MANAGED_BY.value } };
    } else if (o.kind === 'StatefulSet' && o.spec?.template) {
      const release = setTemplates[o.metadata?.name ?? ''] ?? template;
      const t = o.spec.template;
      t.metadata = { ...t.metadata, annotations: { ...t.metadata?.annotations, [REVISION_ANNOTATION]: release.revision } };
      const [web, ...rest] = t.spec.containers;
      if (!web) throw new Error('the StatefulSet has no container');
      let env = setEnv(web.env, 'APP_VERSION', release.version);
      for (const [name, value] of Object.entries(release.env)) env = setEnv(env, name, value);
      t.spec.containers = [{ ...web, env }, ...rest];
    } else if (o.kind === 'Job' && o.spec?.template) {
      // The smoke hook expects the version of the image it runs from; a release here changes APP_VERSION instead of
      // the image (the same image on every cluster), so the hook is told the version explicitly.
      for (const c of o.spec.template.spec.containers) {
        if ((c.env ?? []).some((e) => e.name.startsWith('SMOKE_'))) c.env = setEnv(c.env, 'SMOKE_EXPECTED_VERSION', template.version);
      }
    }
    return o;
  });
}

/** The load pod: the StatefulSet's image and security settings (so it passes the namespace's Pod Security level),
 * running /app/hooks/load.js against the client Service. */
export function loadPod(objects: readonly K8sObject[], settings: { url: string; connections: number; rate: number; seconds: number; port: number; keepAlive: boolean }, setName?: string): K8sObject {
  const sts = statefulSetOf(objects, setName);
  const pod = sts.spec.template.spec as Record<string, unknown> & { containers: { image?: string; securityContext?: unknown }[] };
  const web = pod.containers[0]!;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'rollcall-load',
      namespace: namespaceOf(objects),
      labels: { 'app.kubernetes.io/name': 'rollcall-load', 'app.kubernetes.io/component': 'load', 'app.kubernetes.io/part-of': 'rollcall' },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      ...(pod['securityContext'] ? { securityContext: pod['securityContext'] } : {}),
      containers: [
        {
          name: 'load',
          image: web.image,
          command: ['node', '/app/hooks/load.js'],
          env: [
            { name: 'LOAD_URL', value: settings.url },
            { name: 'LOAD_CONNECTIONS', value: String(settings.connections) },
            { name: 'LOAD_RATE', value: String(Math.max(1, Math.round(settings.rate))) },
            { name: 'LOAD_SECONDS', value: String(settings.seconds) },
            { name: 'LOAD_PORT', value: String(settings.port) },
            { name: 'LOAD_KEEPALIVE', value: String(settings.keepAlive) },
          ],
          ports: [{ containerPort: settings.port, name: 'results' }],
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          ...(web.securityContext ? { securityContext: web.securityContext } : {}),
        },
      ],
    },
  } as K8sObject;
}

/** The StatefulSet of one colour of the blue-green overlay (kustomize/overlays/blue-green/colours/*). */
export const colourSet = (colour: Colour) => `rollcall-${colour}`;

/** The blue-green overlay at a declared state, as the Git commit of that state makes the cluster run: each colour's
 * StatefulSet at its replicas and its own release, the client Service (`rollcall`) selecting the active colour and
 * the preview Service the other (the bundle's rule: bundle/policy-blue-green.ts). The smoke hook expects the active
 * colour's version, the one clients reach. */
export function blueGreenObjects(objects: readonly K8sObject[], state: BlueGreenState, templates: Readonly<Record<Colour, Template>>): K8sObject[] {
  const setTemplates = Object.fromEntries(colours.map((c) => [colourSet(c), templates[c]]));
  return releaseObjects(objects, templates[state.active], setTemplates).map((o) => {
    const spec = (o as { spec?: { replicas?: number; selector?: Record<string, string> } }).spec;
    if (o.kind === 'StatefulSet' && spec) {
      const colour = colours.find((c) => colourSet(c) === o.metadata?.name);
      if (colour) spec.replicas = state.colours[colour].replicas;
    } else if (o.kind === 'Service' && spec?.selector?.[colourLabel] !== undefined) {
      if (o.metadata?.name === 'rollcall') spec.selector = { ...spec.selector, [colourLabel]: state.active };
      else if (o.metadata?.name === 'rollcall-preview') spec.selector = { ...spec.selector, [colourLabel]: other(state.active) };
    }
    return o;
  });
}
