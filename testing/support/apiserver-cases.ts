// One list of broken manifests for the API-server rules mirrored in bundle/apiserver.ts: each case breaks one rule in
// a rendered overlay. test/manifests-apiserver.test.ts checks that the mirror reports it; testing/cluster/
// apiserver-rules.ts sends the same broken object (and its unbroken original) to a real API server, which must refuse
// it on the same field. A rule added to the mirror gets its case here, so both sides see it.
import type { K8sObject } from '../../bundle/types.ts';

export interface ApiServerCase {
  label: string;
  /** The overlay (kustomize/overlays/<name>) whose rendering is broken. */
  overlay: string;
  /** The one object the mutation breaks: what is sent to the real API server. */
  target: { kind: string; name?: string };
  mutate: (objects: K8sObject[]) => void;
  /** What the mirror must print for it (formatProblem, with overlay, object and field). */
  want: RegExp;
  /** Refused not with the object but with what a controller makes from it: `claim`, each claim of a StatefulSet's
   * volumeClaimTemplates (kubernetes pkg/controller/statefulset/stateful_set_utils.go, getPersistentVolumeClaims). */
  refusedAs?: 'claim';
}

export const findObject = (objects: K8sObject[], target: ApiServerCase['target']) =>
  objects.find((o) => o.kind === target.kind && (target.name === undefined || o.metadata?.name === target.name)) as Record<string, any> | undefined;
const find = (objects: K8sObject[], kind: string, name?: string): Record<string, any> => {
  const found = findObject(objects, { kind, ...(name ? { name } : {}) });
  if (!found) throw new Error(`no ${kind}${name ? `/${name}` : ''} in the rendered overlay`);
  return found;
};
const app = (objects: K8sObject[]) => find(objects, 'StatefulSet')['spec'].template.spec.containers[0];

export const apiServerCases: ApiServerCase[] = [
  {
    label: 'OnDelete with rollingUpdate.partition',
    overlay: 'recreate',
    target: { kind: 'StatefulSet' },
    mutate: (o) => (find(o, 'StatefulSet')['spec'].updateStrategy.rollingUpdate = { partition: 1 }),
    want: /^\[recreate\] StatefulSet\/rollcall spec\.updateStrategy\.rollingUpdate: only allowed for updateStrategy 'RollingUpdate'/m,
  },
  {
    label: 'negative partition',
    overlay: 'canary',
    target: { kind: 'StatefulSet' },
    mutate: (o) => (find(o, 'StatefulSet')['spec'].updateStrategy.rollingUpdate.partition = -1),
    want: /^\[canary\] StatefulSet\/rollcall spec\.updateStrategy\.rollingUpdate\.partition: must be greater than or equal to 0/m,
  },
  {
    label: 'memory request above its limit',
    overlay: 'rolling',
    target: { kind: 'StatefulSet' },
    mutate: (o) => (app(o).resources.requests.memory = '512Mi'),
    want: /^\[rolling\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.resources\.requests\.memory: must be less than or equal to memory limit of 256Mi/m,
  },
  {
    label: 'hook cpu request above its limit',
    overlay: 'canary',
    target: { kind: 'Job', name: 'rollcall-smoke' },
    mutate: (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].resources.requests.cpu = '1'),
    want: /^\[canary\] Job\/rollcall-smoke spec\.template\.spec\.containers\[smoke\]\.resources\.requests\.cpu: must be less than or equal to cpu limit of 200m/m,
  },
  {
    label: 'PDB with both minAvailable and maxUnavailable',
    overlay: 'parallel',
    target: { kind: 'PodDisruptionBudget' },
    mutate: (o) => (find(o, 'PodDisruptionBudget')['spec'].minAvailable = 2),
    want: /^\[parallel\] PodDisruptionBudget\/rollcall spec: minAvailable and maxUnavailable cannot be both set/m,
  },
  {
    label: 'label value with a space',
    overlay: 'rolling',
    target: { kind: 'Service', name: 'rollcall' },
    mutate: (o) => (find(o, 'Service', 'rollcall')['metadata'].labels['app.kubernetes.io/part-of'] = 'roll call'),
    want: /^\[rolling\] Service\/rollcall metadata\.labels\[app\.kubernetes\.io\/part-of\]: invalid label value "roll call"/m,
  },
  {
    label: 'pod template label value with a space',
    overlay: 'canary',
    target: { kind: 'StatefulSet' },
    // A label outside the selector: breaking a selector label also breaks "selector matches the template", which is
    // another rule (the real server reports both).
    mutate: (o) => (find(o, 'StatefulSet')['spec'].template.metadata.labels['tier'] = 'web app'),
    want: /^\[canary\] StatefulSet\/rollcall spec\.template\.metadata\.labels\[tier\]: invalid label value "web app"/m,
  },
  {
    label: 'claim template label value ending in a dash',
    overlay: 'rolling',
    target: { kind: 'StatefulSet' },
    // The StatefulSet itself is accepted (upstream validates only each claim template's spec); the claim the
    // StatefulSet controller makes from the template is refused.
    refusedAs: 'claim',
    mutate: (o) => {
      const claim = find(o, 'StatefulSet')['spec'].volumeClaimTemplates[0];
      claim.metadata.labels = { ...claim.metadata.labels, tier: 'data-' };
    },
    want: /^\[rolling\] StatefulSet\/rollcall spec\.volumeClaimTemplates\[0\]\.metadata\.labels\[tier\]: invalid label value "data-".*\(accepted with the StatefulSet; the API server rejects the claim the StatefulSet controller creates from it\)$/m,
  },
  {
    label: 'label key with two slashes',
    overlay: 'parallel',
    target: { kind: 'Service', name: 'rollcall' },
    mutate: (o) => (find(o, 'Service', 'rollcall')['metadata'].labels['rollcall.dev/a/b'] = 'x'),
    want: /^\[parallel\] Service\/rollcall metadata\.labels\[rollcall\.dev\/a\/b\]: invalid label key "rollcall\.dev\/a\/b"/m,
  },
  {
    label: 'label key with an upper-case prefix',
    overlay: 'rolling',
    target: { kind: 'Service', name: 'rollcall' },
    mutate: (o) => (find(o, 'Service', 'rollcall')['metadata'].labels['Rollcall.dev/tier'] = 'x'),
    want: /^\[rolling\] Service\/rollcall metadata\.labels\[Rollcall\.dev\/tier\]: invalid label key "Rollcall\.dev\/tier"/m,
  },
  {
    label: 'probe with two handlers',
    overlay: 'rolling',
    target: { kind: 'StatefulSet' },
    mutate: (o) => (app(o).livenessProbe.tcpSocket = { port: 'http' }),
    want: /^\[rolling\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.livenessProbe\.tcpSocket: may not specify more than 1 handler type/m,
  },
  {
    label: 'probe with no handler',
    overlay: 'parallel',
    target: { kind: 'StatefulSet' },
    mutate: (o) => delete app(o).readinessProbe.httpGet,
    want: /^\[parallel\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.readinessProbe: must specify a handler type/m,
  },
  {
    label: 'invalid port name',
    overlay: 'parallel',
    target: { kind: 'StatefulSet' },
    mutate: (o) => (app(o).ports[0].name = 'HTTP_Port'),
    want: /^\[parallel\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.ports\[0\]\.name: invalid port name "HTTP_Port"/m,
  },
  {
    label: 'duplicate port name',
    overlay: 'canary',
    target: { kind: 'StatefulSet' },
    mutate: (o) => app(o).ports.push({ name: app(o).ports[0].name, containerPort: 5001, protocol: 'TCP' }),
    want: /^\[canary\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.ports\[1\]\.name: duplicate port name "http"/m,
  },
];
