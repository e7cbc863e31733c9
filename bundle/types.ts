// Shared shapes of the validation library (bundle/*.ts).

/** A parsed manifest: only the fields every check relies on are typed; the rest is looked at by path. */
export interface K8sObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One finding: where (overlay or file), which object (Kind/name), which field, what is wrong. */
export interface Problem {
  scope: string;
  object: string;
  field: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `[${p.scope}] ${p.object}${p.field ? ` ${p.field}` : ''}: ${p.message}`;
}
