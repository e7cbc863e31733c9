// The control plane binary: built from controlplane/main.go in the one Go module (cluster/go.mod, go.sum) with one
// command, cached so a second start does not rebuild.
//
//   cache:  $XDG_CACHE_HOME/rollcall/controlplane/<key>/controlplane  (XDG_CACHE_HOME defaults to ~/.cache)
//           <key> = sha256 of go.mod, go.sum, controlplane/main.go and the link flags; build.json records the build
//   build:  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w <version flags>" (a static binary; see versionLdflags)
//
// A cache miss first runs the pre-flight (preflight.ts): a module the proxy does not serve is named before any compile.
// The building and caching is cluster/go-build.ts, shared with Argo CD's build; this file says what is built.
//
// Usage: node cluster/controlplane/build.ts   (prints the binary's path; `npm run cluster -- build` does the same)
import {
  buildArgs as programBuildArgs,
  buildRecord as programBuildRecord,
  cacheKey as programCacheKey,
  cachedBinaryPath as programCachedBinaryPath,
  findGo,
  goBinary,
  goModText,
  goModuleDir,
  type BinaryOptions,
  type BuildRecord,
  type GoProgram,
} from '../go-build.ts';
import { requiredVersion } from '../go-mod.ts';

export { findGo, type BinaryOptions, type BuildRecord };

const SOURCES = ['go.mod', 'go.sum', 'controlplane/main.go'] as const;

/**
 * The -X flags that give the binary its version. Upstream's build sets them from git (kubernetes
 * `hack/lib/version.sh`, `kube::version::ldflags`) for both k8s.io/component-base/version and
 * k8s.io/client-go/pkg/version; without them `/version` says v0.0.0-master and clients that parse it (kubectl's skew
 * warning, Argo CD) misread the server. The version is the k8s.io/kubernetes requirement of go.mod; the build date is
 * fixed so the same sources give the same binary.
 */
export function versionLdflags(goMod: string): string[] {
  const gitVersion = requiredVersion(goMod, 'k8s.io/kubernetes');
  const m = /^v(\d+)\.(\d+)\.\d+$/.exec(gitVersion);
  if (!m) throw new Error(`k8s.io/kubernetes ${gitVersion}: expected a release version vX.Y.Z`);
  const values = { gitVersion, gitMajor: m[1]!, gitMinor: m[2]!, gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) =>
    Object.entries(values).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
}

/** The build of our main.go with the version flags of go.mod's Kubernetes (cluster/go-build.ts does the rest). */
function program(goMod: string): GoProgram {
  return { name: 'controlplane', moduleDir: goModuleDir, sources: SOURCES, package: './controlplane', ldflags: versionLdflags(goMod) };
}


export function buildArgs(goMod: string, out: string): string[] {
  return programBuildArgs(program(goMod), out);
}

/** The cache key: the sources' bytes and the build's arguments (the output path left out). */
export function cacheKey(sources: Record<(typeof SOURCES)[number], string>): string {
  return programCacheKey(program(sources['go.mod']), sources);
}

/** Where the binary of the current sources lives (whether built or not). */
export function cachedBinaryPath(): string {
  return programCachedBinaryPath(program(goModText()));
}

/** The path of the control plane binary, built first when the cache has none for the current sources. */
export function controlPlaneBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(program(goModText()), options);
}

/** The record of the cached binary's build, if there is one. */
export function buildRecord(): Promise<BuildRecord | undefined> {
  return programBuildRecord(program(goModText()));
}

if (process.argv[1] === import.meta.filename) {
  console.log(await controlPlaneBinary());
}
