// The replace block of cluster/go.mod, the one Go module of every program we build from upstream (the control plane,
// Argo CD, the Argo Rollouts controller, kustomize), generated from the upstream modules' own go.mod files.
//
// Why one module: one version of every dependency, so there is one Kubernetes for everything, and the programs share
// their compiled packages in Go's build cache (client-go, apimachinery, grpc... are compiled once for all four, which
// is what makes a cold build of everything fit in CI).
//
// Why a replace block at all: `replace` directives apply only in the main module
// (https://go.dev/ref/mod#go-mod-file-replace), so a program built from an upstream module gets none of upstream's.
// The rules, encoded here once:
//   1. k8s.io/kubernetes requires each of its staging modules (k8s.io/api, k8s.io/client-go, ...) at the placeholder
//      v0.0.0 and replaces it by a local directory; each is published on its own at v0.M.P for release v1.M.P
//      (kubernetes `staging/README.md`, "Using staging repositories"; the consumer recipe is kubernetes#79384). Every
//      such requirement becomes `k8s.io/X => k8s.io/X v0.M.P`. Modules upstream only replaces without requiring
//      (sample-controller, sample-cli-plugin) are left out: nothing needs them and the proxy does not serve them.
//   2. Every replace of Argo CD's and Argo Rollouts' go.mod whose target is a module version is kept unchanged
//      (protobuf, grpc-gateway, yaml for CVEs; Rollouts' telegram fork), except their Kubernetes pins
//      (`k8s.io/X => k8s.io/X v0.M.P`, the way each pins the staging modules of the Kubernetes it was released with):
//      those give way to rule 1, one Kubernetes for everything (Argo CD v3.6.2 pins v0.37.0, Rollouts v1.10.2 v0.34.5;
//      both compile against v0.37.2; a pin of a module 1.37 no longer has, such as legacy-cloud-providers, goes too). Local-path targets (Argo CD's `=> ./gitops-engine`) cannot apply outside
//      upstream's repository and are left out. Two upstreams replacing one module differently is an error to decide by
//      hand, not something to pick silently.
//
// Usage: node cluster/gen-go-mod.ts [--check]
//   rewrites go.mod's replace block (or, with --check, exits 1 when it differs). Needs Go: the upstream go.mod files
//   come from `go mod download -json` (module cache or proxy).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { replacements, requiredVersion, requirements, type ModuleVersion } from './go-mod.ts';
import { goEnv, goModuleDir } from './go-build.ts';

export const KUBERNETES = 'k8s.io/kubernetes';
/** The upstream modules whose replace directives our go.mod carries (rule 2), in the block's order. */
export const UPSTREAMS = ['github.com/argoproj/argo-cd/v3', 'github.com/argoproj/argo-rollouts'] as const;

export interface Replacement {
  old: string;
  target: ModuleVersion;
}

/** The published version of the staging modules of Kubernetes `kubernetesVersion`: v1.M.P → v0.M.P. */
export function stagingVersion(kubernetesVersion: string): string {
  const m = /^v1\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (!m) throw new Error(`${KUBERNETES} ${kubernetesVersion}: expected a release version v1.<minor>.<patch>`);
  return `v0.${m[1]}.${m[2]}`;
}

/** Rule 1: the replacements for k8s.io/kubernetes's go.mod text at `kubernetesVersion`, sorted by module path. */
export function stagingReplacements(kubernetesGoMod: string, kubernetesVersion: string): Replacement[] {
  const version = stagingVersion(kubernetesVersion);
  const staged = requirements(kubernetesGoMod).filter((r) => r.path.startsWith('k8s.io/') && r.version === 'v0.0.0');
  if (staged.length === 0) throw new Error(`${KUBERNETES} ${kubernetesVersion}: its go.mod requires no k8s.io module at v0.0.0`);
  return staged
    .map((r) => ({ old: r.path, target: { path: r.path, version } }))
    .sort((a, b) => (a.old < b.old ? -1 : a.old > b.old ? 1 : 0));
}

/** An upstream's pin of its own Kubernetes: a k8s.io module replaced by itself at a v0.M.P release. */
export function isKubernetesPin(old: string, target: ModuleVersion): boolean {
  return old.startsWith('k8s.io/') && target.path === old && /^v0\.\d+\.\d+$/.test(target.version);
}

/** Rule 2: an upstream go.mod's replacements that name a module version, in upstream's order, its Kubernetes pins left out. */
export function upstreamReplacements(upstreamGoMod: string): Replacement[] {
  return [...replacements(upstreamGoMod)].filter(([old, target]) => !isKubernetesPin(old, target)).map(([old, target]) => ({ old, target }));
}

export interface UpstreamGoMod {
  module: string;
  version: string;
  goMod: string;
}

const line = (r: Replacement) => `\t${r.old} => ${r.target.path} ${r.target.version}`;
const byPath = (a: Replacement, b: Replacement) => (a.old < b.old ? -1 : a.old > b.old ? 1 : 0);
// One block per source, each sorted: `go mod tidy` sorts the lines of a block (and would mix the sources of one).
const block = (title: string, list: Replacement[]) => `replace (\n\t// ${title}\n${[...list].sort(byPath).map(line).join('\n')}\n)\n`;

/** The whole generated text: the staging modules' block, then one block per upstream with its own replacements. */
export function replaceBlock(kubernetes: UpstreamGoMod, upstreams: readonly UpstreamGoMod[]): string {
  const blocks = [block(`${KUBERNETES} ${kubernetes.version}: its staging modules`, stagingReplacements(kubernetes.goMod, kubernetes.version))];
  const taken = new Map<string, { by: string; target: ModuleVersion }>();
  for (const upstream of upstreams) {
    const own: Replacement[] = [];
    for (const r of upstreamReplacements(upstream.goMod)) {
      const earlier = taken.get(r.old);
      if (earlier) {
        if (earlier.target.path !== r.target.path || earlier.target.version !== r.target.version) {
          throw new Error(
            `${r.old}: ${earlier.by} replaces it by ${earlier.target.path} ${earlier.target.version}, ${upstream.module}@${upstream.version} by ${r.target.path} ${r.target.version}; choose one by hand`,
          );
        }
        continue;
      }
      taken.set(r.old, { by: `${upstream.module}@${upstream.version}`, target: r.target });
      own.push(r);
    }
    if (own.length > 0) blocks.push(block(`${upstream.module} ${upstream.version}`, own));
  }
  return (
    `// Generated by gen-go-mod.ts: the staging modules of ${KUBERNETES} at their published version, then each replace\n` +
    `// of Argo CD's and Argo Rollouts' go.mod that names a module version (not their own Kubernetes pins: one Kubernetes\n` +
    `// for everything). Edit the generator, not these lines.\n` +
    blocks.join('\n')
  );
}

/**
 * `goMod` with every replace directive (single lines, blocks, the generated comment) removed and `block` appended: the
 * generated block is the only source of replacements in our module.
 */
export function withReplaceBlock(goMod: string, block: string): string {
  const without = goMod
    .replace(/^\/\/ Generated by gen-go-mod\.ts[^\n]*\n(?:\/\/[^\n]*\n)*/gm, '')
    .replace(/^replace \(\n(?:[^\n]*\n)*?\)\n/gm, '')
    .replace(/^replace [^\n(][^\n]*\n/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\n*$/, '\n');
  return `${without}\n${block}`;
}

/** go.mod as the generator writes it, given the upstream go.mod texts (keyed by module path). */
export function generateGoMod(goMod: string, upstreamGoMods: Readonly<Record<string, string>>): string {
  const at = (module: string): UpstreamGoMod => {
    const text = upstreamGoMods[module];
    if (text === undefined) throw new Error(`${module}: its go.mod was not given`);
    return { module, version: requiredVersion(goMod, module), goMod: text };
  };
  return withReplaceBlock(goMod, replaceBlock(at(KUBERNETES), UPSTREAMS.map(at)));
}

/** Reads our go.mod and the upstream ones (through `go mod download`); returns both texts, current and generated. */
export async function regenerate(goCommand = 'go'): Promise<{ current: string; generated: string }> {
  const current = await readFile(path.join(goModuleDir, 'go.mod'), 'utf8');
  const upstreamGoMods: Record<string, string> = {};
  for (const module of [KUBERNETES, ...UPSTREAMS]) {
    const version = requiredVersion(current, module);
    const { stdout } = await promisify(execFile)(goCommand, ['mod', 'download', '-json', `${module}@${version}`], {
      cwd: goModuleDir,
      maxBuffer: 1 << 20,
      env: goEnv(current),
    });
    const info = JSON.parse(stdout) as { GoMod?: string; Error?: string };
    if (info.Error || !info.GoMod) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no GoMod in its answer'}`);
    upstreamGoMods[module] = await readFile(info.GoMod, 'utf8');
  }
  return { current, generated: generateGoMod(current, upstreamGoMods) };
}

if (process.argv[1] === import.meta.filename) {
  const check = process.argv.includes('--check');
  const { current, generated } = await regenerate();
  if (current === generated) console.log('cluster/go.mod: replace block up to date');
  else if (check) {
    console.error('cluster/go.mod differs from the generator: run node cluster/gen-go-mod.ts');
    process.exitCode = 1;
  } else {
    await writeFile(path.join(goModuleDir, 'go.mod'), generated);
    console.log('cluster/go.mod: replace block regenerated (run go mod tidy if requirements changed)');
  }
}
