// Argo CD and the Argo Rollouts analysis controller as binaries, built from their published Go modules with one
// command and cached (cluster/go-build.ts: key = go.mod, go.sum, main.go and the link flags).
//
//   argocd            our multicall main.go over Argo CD's own cobra commands (application controller, repo server,
//                     ApplicationSet controller), github.com/argoproj/argo-cd/v3 at the version go.mod requires
//   rollouts-controller   upstream's own main package (`tool` in rollouts/go.mod), github.com/argoproj/argo-rollouts
//
// Usage: node cluster/argocd/build.ts [argocd|rollouts]   (prints each binary's path; both by default)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { effectiveRequirements, requiredVersion } from '../controlplane/go-mod.ts';
import { goBinary, type BinaryOptions, type GoProgram } from '../go-build.ts';

export const ARGOCD_MODULE = 'github.com/argoproj/argo-cd/v3';
export const ROLLOUTS_MODULE = 'github.com/argoproj/argo-rollouts';
const argocdDir = import.meta.dirname;
const rolloutsDir = path.join(import.meta.dirname, 'rollouts');

/**
 * What a release's own build stamps into it from Git, which the module proxy does not carry: the tag's commit and
 * its date, read from the tags of github.com/argoproj/argo-cd (`git rev-parse v3.2.12^{commit}`, `git log -1
 * --format=%cI`). A go.mod naming a release missing here fails the build with that message instead of a binary
 * reporting a made-up version.
 */
const ARGOCD_RELEASES: Record<string, { commit: string; date: string }> = {
  'v3.2.12': { commit: '4caf2709419b4f172d5a7adbe95d20cb1d86e3bd', date: '2026-05-13T01:47:31Z' },
};

/**
 * Argo CD's version flags, as its Makefile sets them (`LDFLAGS`: -X github.com/argoproj/argo-cd/v3/common.version,
 * buildDate, gitCommit, gitTreeState, kubectlVersion, gitTag). `common.GetVersion` reports the tag only when commit, tag
 * and a clean tree are all set, else `v<version>+<commit>`; `kubectlVersion` is what the Makefile reads from
 * `go list -m k8s.io/client-go`, the replaced version.
 */
export function argocdLdflags(goMod: string): string[] {
  const tag = requiredVersion(goMod, ARGOCD_MODULE);
  const release = ARGOCD_RELEASES[tag];
  if (!release) throw new Error(`${ARGOCD_MODULE} ${tag}: its tag's commit and date are not recorded in cluster/argocd/build.ts (ARGOCD_RELEASES)`);
  const clientGo = effectiveRequirements(goMod).find((m) => m.path === 'k8s.io/client-go');
  if (!clientGo) throw new Error('cluster/argocd/go.mod does not require k8s.io/client-go (run go mod tidy)');
  const values = {
    version: tag.replace(/^v/, ''),
    buildDate: release.date,
    gitCommit: release.commit,
    gitTag: tag,
    gitTreeState: 'clean',
    kubectlVersion: clientGo.version,
  };
  return Object.entries(values).map(([name, value]) => `-X ${ARGOCD_MODULE}/common.${name}=${value}`);
}

/**
 * Argo Rollouts' version flags, as its Makefile sets them (-X github.com/argoproj/argo-rollouts/utils/version.version,
 * gitTreeState; its gitTag flag names the wrong package upstream and has no effect). The commit is not recorded (no
 * mirror of the tag here), so the controller reports `v<version>+unknown`.
 */
export function rolloutsLdflags(goMod: string): string[] {
  const tag = requiredVersion(goMod, ROLLOUTS_MODULE);
  const values = { version: tag.replace(/^v/, ''), gitTreeState: 'clean' };
  return Object.entries(values).map(([name, value]) => `-X ${ROLLOUTS_MODULE}/utils/version.${name}=${value}`);
}

export function argocdProgram(): GoProgram {
  const goMod = readFileSync(path.join(argocdDir, 'go.mod'), 'utf8');
  return { name: 'argocd', moduleDir: argocdDir, sources: ['go.mod', 'go.sum', 'main.go'], package: '.', ldflags: argocdLdflags(goMod) };
}

export function rolloutsProgram(): GoProgram {
  const goMod = readFileSync(path.join(rolloutsDir, 'go.mod'), 'utf8');
  return {
    name: 'rollouts-controller',
    moduleDir: rolloutsDir,
    sources: ['go.mod', 'go.sum'],
    package: `${ROLLOUTS_MODULE}/cmd/rollouts-controller`,
    ldflags: rolloutsLdflags(goMod),
  };
}

/** The Argo CD multicall binary (argv[1]: argocd-application-controller | argocd-repo-server | argocd-applicationset-controller). */
export function argocdBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(argocdProgram(), options);
}

/** Argo Rollouts' controller (run with --controllers=analysis for the analysis controller alone). */
export function rolloutsBinary(options: BinaryOptions = {}): Promise<string> {
  return goBinary(rolloutsProgram(), options);
}

if (process.argv[1] === import.meta.filename) {
  const which = process.argv[2];
  if (which !== undefined && which !== 'argocd' && which !== 'rollouts') {
    console.error('usage: node cluster/argocd/build.ts [argocd|rollouts]');
    process.exit(2);
  }
  if (which !== 'rollouts') console.log(await argocdBinary());
  if (which !== 'argocd') console.log(await rolloutsBinary());
}
