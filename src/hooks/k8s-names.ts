// Which names the hooks put into an API path. A name read from the API server (a pod in a PodList) or from the Job's
// env goes into `/api/v1/namespaces/<ns>/pods/<name>`; '' would make that the collection (`…/pods/`), '.' and '..'
// would walk up the path (`DELETE /api/v1/namespaces/ns/`). So a name is used only if Kubernetes itself would accept
// it for that object; anything else is refused before any request is built.
// Rules, from upstream (read, not copied):
//  - k8s.io/apimachinery pkg/util/validation/validation.go, IsDNS1123Subdomain (at most 253 characters, lower-case
//    alphanumerics, '-' and '.', each dot-separated part starting and ending alphanumeric) and IsDNS1123Label (at most
//    63, no dots). Pod and StatefulSet names are subdomains (pkg/apis/core/validation ValidatePodName; apps
//    ValidateStatefulSetName), namespaces are labels (ValidateNamespaceName).
//  - k8s.io/client-go rest/request.go, Request.Name and IsValidPathSegmentName: a name in a path may not be empty,
//    '.' or '..', nor contain '/' or '%' (implied by the patterns above, checked again in so many words).

const dns1123Label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const subdomainPattern = new RegExp(`^${dns1123Label}(\\.${dns1123Label})*$`);
const labelPattern = new RegExp(`^${dns1123Label}$`);

export type NameKind = 'subdomain' | 'label';

/** Why `name` is not a valid Kubernetes object name of this kind, or undefined when it is. */
export function invalidNameReason(name: unknown, kind: NameKind): string | undefined {
  if (typeof name !== 'string') return `is not a string (${typeof name})`;
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (name.includes('/') || name.includes('%')) return "may not contain '/' or '%'";
  const max = kind === 'label' ? 63 : 253;
  if (name.length > max) return `is longer than ${max} characters`;
  const pattern = kind === 'label' ? labelPattern : subdomainPattern;
  if (!pattern.test(name)) {
    return kind === 'label'
      ? "must be lower-case alphanumerics or '-', starting and ending with an alphanumeric (RFC 1123 label)"
      : "must be lower-case alphanumerics, '-' or '.', each part starting and ending with an alphanumeric (RFC 1123 subdomain)";
  }
  return undefined;
}

/** Throws a sentence naming `what` and the offending value unless `name` is valid. */
export function checkName(name: unknown, kind: NameKind, what: string): string {
  const reason = invalidNameReason(name, kind);
  if (reason !== undefined) throw new Error(`${what} ${JSON.stringify(name)} ${reason}; refusing to use it in an API path`);
  return name as string;
}
