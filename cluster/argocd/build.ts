// Argo CD and the Argo Rollouts analysis controller as binaries, built from their published Go modules with one
// command and cached (cluster/go-build.ts: key = go.mod, go.sum, main.go and the link flags). All three come from the
// one Go module, cluster/go.mod, with the control plane: one Kubernetes (v0.37.2) for everything, and the packages
// they share compiled once.
//
//   argocd            our multicall argocd/main.go over Argo CD's own cobra commands (application controller, repo
//                     server, ApplicationSet controller), github.com/argoproj/argo-cd/v3 at the version go.mod requires
//   rollouts-controller   upstream's own main package (a `tool` of go.mod), github.com/argoproj/argo-rollouts
//   kustomize         upstream's own main package (a `tool` of go.mod), sigs.k8s.io/kustomize/kustomize/v5: the repo
//                     server runs `kustomize build` as a program. v5.8.2, not the v5.8.3 Argo CD v3.6.2's image ships
//                     (its hack/tool-versions.sh): v5.8.3 requires k8s.io/kube-openapi v0.0.0-20261001230523-97fa35140926,
//                     which the Go module proxy does not serve (403); v5.8.2 differs from it in no kustomize feature
//                     the bundle uses
//
// Usage: node cluster/argocd/build.ts [argocd|rollouts|kustomize]   (prints each binary's path; all by default)
import { effectiveRequirements, requiredVersion } from '../go-mod.ts';
import { goBinary, goModText, goModuleDir, type BinaryOptions, type GoProgram } from '../go-build.ts';

export const ARGOCD_MODULE = 'github.com/argoproj/argo-cd/v3';
export const ROLLOUTS_MODULE = 'github.com/argoproj/argo-rollouts';
export const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';

/**
 * What a release's own build stamps into it from Git, which the module proxy does not carry: the tag's commit and
 * its date, read from the tags of github.com/argoproj/argo-cd (`git rev-parse v3.2.11^{commit}`, `git log -1
 * --format=%cI`; the module zip the proxy serves for v3.2.11 is that commit's tree). A release whose commit is not
 * known here (v3.6.2: the mirror of the repository readable here ends before its tag) is stamped with its version
 * and no commit, so it reports `v3.6.2+unknown`, as upstream's GetVersion words a build without one, never a made-up
 * commit. A go.mod naming a release missing here fails the build with that message.
 * v3.2.12 is not here on purpose: the proxy serves it from an earlier commit than the tag now names (the tag was moved
 * to 4caf270941 "fix: export url validation function"), and that tree does not compile (docs/argocd-local.md).
 */
const ARGOCD_RELEASES: Record<string, { commit?: string; date: string }> = {
  'v3.2.11': { commit: '6d66c1b29e4f25dccfb5b0c7a939785b0071ef9a', date: '2026-04-30T17:24:29Z' },
  // date: the version's time as the Go module proxy gives it (`go mod download -json`, Time).
  'v3.6.2': { date: '2026-11-18T18:55:45Z' },
};

/**
 * Argo CD's version flags, as its Makefile sets them (`LDFLAGS`: -X github.com/argoproj/argo-cd/v3/common.version,
 * buildDate, gitCommit, gitTreeState, kubectlVersion, gitTag). `common.GetVersion` reports the tag only when commit, tag
 * and a clean tree are all set, else `v<version>+<commit>` (`+unknown` without one); `kubectlVersion` is what the
 * Makefile reads from `go list -m k8s.io/client-go`, the replaced version.
 */
export function argocdLdflags(goMod: string): string[] {
  const tag = requiredVersion(goMod, ARGOCD_MODULE);
  const release = ARGOCD_RELEASES[tag];
  if (!release) throw new Error(`${ARGOCD_MODULE} ${tag}: its tag's commit and date are not recorded in cluster/argocd/build.ts (ARGOCD_RELEASES)`);
  const clientGo = effectiveRequirements(goMod).find((m) => m.path === 'k8s.io/client-go');
  if (!clientGo) throw new Error('cluster/go.mod does not require k8s.io/client-go (run go mod tidy)');
  const values = {
    version: tag.replace(/^v/, ''),
    buildDate: release.date,
    ...(release.commit ? { gitCommit: release.commit } : {}),
    gitTag: tag,
    gitTreeState: 'clean',
    kubectlVersion: clientGo.version,
  };
  return Object.entries(values).map(([name, value]) => `-X ${ARGOCD_MODULE}/common.${name}=${value}`);
}

/** The version Argo CD's components report (common.GetVersion over the flags above). */
export function argocdReportedVersion(goMod: string): string {
  const tag = requiredVersion(goMod, ARGOCD_MODULE);
  return ARGOCD_RELEASES[tag]?.commit ? tag : `${tag}+unknown`;
}

export function rolloutsLdflags(goMod: string): string[] {
  const tag = requiredVersion(goMod, ROLLOUTS_MODULE);
  const values = { version: tag.replace(/^v/, ''), gitTreeState: 'clean' };
  return Object.entries(values).map(([name, value]) => `-X ${ROLLOUTS_MODULE}/utils/version.${name}=${value}`);
}

export function argocdProgram(): GoProgram {
  return { name: 'argocd', moduleDir: goModuleDir, sources: ['go.mod', 'go.sum', 'argocd/main.go'], package: './argocd', ldflags: argocdLdflags(goModText()) };
}

export function rolloutsProgram(): GoProgram {
  const goMod = goModText();
  return {
    name: 'rollouts-controller',
    moduleDir: goModuleDir,
    sources: ['go.mod', 'go.sum'],
    package: `${ROLLOUTS_MODULE}/cmd/rollouts-controller`,
    ldflags: rolloutsLdflags(goMod),
  };
}

export function kustomizeProgram(): GoProgram {
  // kustomize reads its version from the module's build info (sigs.k8s.io/kustomize/api/provenance), which a build of
  // the module as a dependency carries: no flags needed.
  return { name: 'kustomize', moduleDir: goModuleDir, sources: ['go.mod', 'go.sum'], package: KUSTOMIZE_MODULE, ldflags: [] };
}

/** The Argo CD multicall binary (argv[1]: argocd-application-controller | argocd-repo-server | argocd-applicationset-controller). */
export function argocdBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(argocdProgram(), options);
}

/** Argo Rollouts' controller (run with --controllers=analysis for the analysis controller alone). */
export function rolloutsBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(rolloutsProgram(), options);
}

/** The kustomize Argo CD's repo server runs: it calls `kustomize` from PATH (util/kustomize `getBinaryPath`), so its folder goes first there. */
export function kustomizeBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(kustomizeProgram(), options);
}

if (process.argv[1] === import.meta.filename) {
  const builds = { argocd: argocdBinary, rollouts: rolloutsBinary, kustomize: kustomizeBinary };
  const which = process.argv.slice(2);
  const unknown = which.filter((w) => !(w in builds));
  if (unknown.length > 0) {
    console.error('usage: node cluster/argocd/build.ts [argocd|rollouts|kustomize]...');
    process.exit(2);
  }
  for (const name of which.length > 0 ? which : Object.keys(builds)) console.log(await builds[name as keyof typeof builds]());
}
