// Rendering with the real kustomize: a `kustomize` binary on PATH, else `kubectl kustomize` (kustomize built in).
// No reimplementation: what Argo CD and kubectl will see is exactly what is checked.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './types.ts';

const execFileP = promisify(execFile);

export interface Renderer {
  /** 'kustomize' or 'kubectl' */
  tool: string;
  version: string;
  /** argv to render `dir` (relative to cwd). */
  command(dir: string): string[];
}

function probe(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).trim();
  } catch {
    return undefined;
  }
}

let cached: Renderer | null | undefined;

/** The renderer to use, or null when neither kustomize nor kubectl is installed. */
export function findRenderer(env: Record<string, string | undefined> = process.env): Renderer | null {
  if (cached !== undefined) return cached;
  // ROLLCALL_KUSTOMIZE=none pretends nothing is installed (to try the "no renderer" path).
  const forced = env['ROLLCALL_KUSTOMIZE'];
  if (forced === 'none') return (cached = null);
  if (forced !== 'kubectl') {
    const v = probe('kustomize', ['version']);
    if (v !== undefined) return (cached = { tool: 'kustomize', version: `kustomize ${v}`, command: (dir) => ['kustomize', 'build', dir] });
  }
  const kv = probe('kubectl', ['version', '--client']);
  if (kv !== undefined) {
    const version = /Kustomize Version: (\S+)/.exec(kv)?.[1] ?? 'built into kubectl';
    return (cached = { tool: 'kubectl', version: `kubectl kustomize ${version}`, command: (dir) => ['kubectl', 'kustomize', dir] });
  }
  return (cached = null);
}

export const noRendererMessage =
  'neither `kustomize` nor `kubectl` is on PATH: cannot render the overlays. Install kubectl ' +
  '(https://kubernetes.io/docs/tasks/tools/) or kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/).';

export interface Rendered {
  yaml: string;
  objects: K8sObject[];
}

/** Renders `dir` (relative to `cwd`); rejects with kustomize's own error text. */
export async function render(renderer: Renderer, dir: string, cwd: string): Promise<Rendered> {
  const [cmd, ...args] = renderer.command(dir);
  try {
    const { stdout } = await execFileP(cmd!, args, { cwd, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
    return { yaml: stdout, objects: parseManifests(stdout, `${renderer.command(dir).join(' ')}`) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`\`${renderer.command(dir).join(' ')}\` (in ${cwd}) failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Parses a multi-document YAML stream strictly (duplicate keys and syntax errors throw). YAML 1.1 like the
 * Kubernetes API server (sigs.k8s.io/yaml): an unquoted `yes` or `on` is a boolean there, so it is here too. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not a mapping`);
    objects.push(value as K8sObject);
  }
  return objects;
}
