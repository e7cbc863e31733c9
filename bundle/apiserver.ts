// Rules the Kubernetes API server enforces on create/update that neither the schema packages (kubernetes-models:
// types, enums, required fields) nor the strict unknown-field layer catch. Each rule cites the upstream function it
// mirrors (kubernetes/kubernetes); a manifest that breaks one would render and validate, then fail at `kubectl apply`
// or Argo CD sync. Written by hand because no installable package carries the API server's validation for Node:
// kubeconform and kubernetes-models validate against the OpenAPI schema, which does not express these cross-field
// rules. Every rule has a mutation test in test/manifests-apiserver.test.ts.
import type { K8sObject, Problem } from './types.ts';
import { describe } from './schema.ts';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

// staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go: IsValidLabelValue (<= 63 chars, alphanumerics,
// '-', '_' or '.', starting and ending with an alphanumeric; empty allowed) and IsQualifiedName for keys
// (optional DNS-1123 subdomain prefix + '/', name part like a label value but non-empty).
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function labelValueError(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, got ${JSON.stringify(value)}`;
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!labelValue.test(value)) return `${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

export function labelKeyError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `${JSON.stringify(key)}: a qualified name has at most one '/'`;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && (parts[0]!.length > 253 || !dns1123Subdomain.test(parts[0]!))) return `${JSON.stringify(key)}: the prefix must be a DNS-1123 subdomain`;
  if (name === '' || name.length > 63 || !labelValue.test(name)) return `${JSON.stringify(key)}: the name part must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

// Same file: IsValidPortName (IANA_SVC_NAME): 1-15 characters, lowercase alphanumerics and '-', at least one letter,
// no '-' at either end, no '--'.
export function portNameError(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${JSON.stringify(name)}`;
  if (name.length < 1 || name.length > 15) return `${JSON.stringify(name)}: must be no more than 15 characters`;
  if (!/^[-a-z0-9]+$/.test(name)) return `${JSON.stringify(name)}: must contain only lowercase alphanumeric characters and '-'`;
  if (!/[a-z]/.test(name)) return `${JSON.stringify(name)}: must contain at least one letter`;
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) return `${JSON.stringify(name)}: must not begin or end with '-' or contain '--'`;
  return undefined;
}

const suffixes: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A resource.Quantity as a number (staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go, ParseQuantity). */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/.exec(q);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : suffixes[m[3] ?? '']!);
}

const probeHandlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

function podTemplateSpecs(o: K8sObject): { path: string; spec: Rec }[] {
  const spec = rec(o['spec']);
  if (o.kind === 'Pod') return [{ path: 'spec', spec }];
  const template = rec(spec['template']);
  return Object.keys(template).length > 0 ? [{ path: 'spec.template.spec', spec: rec(template['spec']) }] : [];
}

export function checkApiServerRules(scope: string, objects: readonly K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const o of objects) {
    const rejected = '(rejected by the API server)';
    const add = (field: string, message: string, when = rejected) => problems.push({ scope, object: describe(o), field, message: `${message} ${when}` });
    // Labels on every object and pod template: ValidateLabels (apimachinery pkg/apis/meta/v1/validation/validation.go).
    // The API server names a pod template's labels `spec.template.labels` (apps ValidatePodTemplateSpecForStatefulSet,
    // core ValidatePodTemplateSpec); the field here is the manifest's path, `spec.template.metadata.labels`.
    const checkLabels = (labels: unknown, path: string, when = rejected) => {
      for (const [k, v] of Object.entries(rec(labels))) {
        const ke = labelKeyError(k);
        if (ke) add(`${path}[${k}]`, `invalid label key ${ke}`, when);
        const ve = labelValueError(v);
        if (ve) add(`${path}[${k}]`, `invalid label value ${ve}`, when);
      }
    };
    checkLabels(o.metadata?.labels, 'metadata.labels');
    const spec = rec(o['spec']);
    checkLabels(rec(rec(spec['template'])['metadata'])['labels'], 'spec.template.metadata.labels');
    checkLabels(rec(spec['selector'])['matchLabels'], 'spec.selector.matchLabels');

    if (o.kind === 'StatefulSet') {
      // pkg/apis/apps/validation/validation.go, ValidateStatefulSetSpec: rollingUpdate "only allowed for
      // updateStrategy 'RollingUpdate'"; partition must be non-negative.
      const us = rec(spec['updateStrategy']);
      if (us['type'] === 'OnDelete' && us['rollingUpdate'] !== undefined) add('spec.updateStrategy.rollingUpdate', "only allowed for updateStrategy 'RollingUpdate' (OnDelete takes no partition or maxUnavailable)");
      const partition = rec(us['rollingUpdate'])['partition'];
      if (typeof partition === 'number' && partition < 0) add('spec.updateStrategy.rollingUpdate.partition', 'must be greater than or equal to 0');
      // A claim template's labels are not validated with the StatefulSet (validateVolumeClaimTemplates checks each
      // template's spec only), but the claims the controller creates from it are objects of their own
      // (pkg/controller/statefulset/stateful_set_utils.go getPersistentVolumeClaims; ValidateObjectMeta refuses
      // them): the StatefulSet is applied, and its pods never start.
      arr(spec['volumeClaimTemplates']).map(rec).forEach((v, i) => checkLabels(rec(v['metadata'])['labels'], `spec.volumeClaimTemplates[${i}].metadata.labels`, '(accepted with the StatefulSet; the API server rejects the claim the StatefulSet controller creates from it)'));
    }
    if (o.kind === 'PodDisruptionBudget') {
      // pkg/apis/policy/validation/validation.go, ValidatePodDisruptionBudgetSpec.
      if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined) add('spec', 'minAvailable and maxUnavailable cannot be both set');
    }
    for (const { path, spec: pod } of podTemplateSpecs(o)) {
      const containers = [...arr(pod['initContainers']).map((c) => ({ c: rec(c), list: 'initContainers' })), ...arr(pod['containers']).map((c) => ({ c: rec(c), list: 'containers' }))];
      for (const { c, list } of containers) {
        const f = `${path}.${list}[${String(c['name'])}]`;
        // pkg/apis/core/validation/validation.go, ValidateResourceRequirements: a request must be <= its limit.
        const res = rec(c['resources']);
        for (const [name, request] of Object.entries(rec(res['requests']))) {
          const limit = rec(res['limits'])[name];
          const r = parseQuantity(request);
          const l = parseQuantity(limit);
          if (limit !== undefined && r !== undefined && l !== undefined && r > l) add(`${f}.resources.requests.${name}`, `must be less than or equal to ${name} limit of ${String(limit)}`);
        }
        // Same file, validateProbe -> validateHandler: "may not specify more than 1 handler type".
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const p = rec(c[probe]);
          if (Object.keys(p).length === 0) continue;
          const set = probeHandlers.filter((h) => p[h] !== undefined);
          if (set.length > 1) add(`${f}.${probe}.${set[1]}`, `may not specify more than 1 handler type (has ${set.join(', ')})`);
          if (set.length === 0) add(`${f}.${probe}`, 'must specify a handler type');
        }
        // Same file, validateContainerPorts -> IsValidPortName; a valid name must be unique within the container (an
        // invalid one is reported as invalid only: upstream checks duplicates in the `else` of the name check).
        const seen = new Set<string>();
        arr(c['ports']).map(rec).forEach((port, i) => {
          if (port['name'] === undefined || port['name'] === '') return;
          const e = portNameError(port['name']);
          if (e) add(`${f}.ports[${i}].name`, `invalid port name ${e}`);
          else if (seen.has(String(port['name']))) add(`${f}.ports[${i}].name`, `duplicate port name ${JSON.stringify(port['name'])}`);
          else seen.add(String(port['name']));
        });
      }
    }
  }
  return problems;
}
