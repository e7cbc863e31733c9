// The Argo CD and Argo Rollouts builds (cluster/argocd/build.ts): the version flags stamped into the binaries and the
// programs built from the one Go module (cluster/go.mod; its replace block is test/cluster-go-mod.test.ts's). No Go
// needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { argocdLdflags, argocdProgram, argocdReportedVersion, kustomizeProgram, rolloutsLdflags, rolloutsProgram } from '../cluster/argocd/build.ts';
import { goModuleDir } from '../cluster/go-build.ts';
import { replacements, requiredVersion } from '../cluster/go-mod.ts';

describe('version flags', () => {
  const goMod = `module rollcall/cluster/argocd\n\ngo 1.26.0\n\nrequire github.com/argoproj/argo-cd/v3 v3.2.11\n\nrequire k8s.io/client-go v0.0.0 // indirect\n\nreplace k8s.io/client-go => k8s.io/client-go v0.34.0\n`;

  test('Argo CD reports its release: tag, commit, clean tree, and the replaced client-go as kubectl version', () => {
    const flags = argocdLdflags(goMod);
    for (const expected of [
      '-X github.com/argoproj/argo-cd/v3/common.version=3.2.11',
      '-X github.com/argoproj/argo-cd/v3/common.gitTag=v3.2.11',
      '-X github.com/argoproj/argo-cd/v3/common.gitCommit=6d66c1b29e4f25dccfb5b0c7a939785b0071ef9a',
      '-X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean',
      '-X github.com/argoproj/argo-cd/v3/common.kubectlVersion=v0.34.0',
    ]) {
      assert.ok(flags.includes(expected), expected);
    }
  });

  test('a release whose commit is not recorded fails instead of reporting a made-up version', () => {
    assert.throws(() => argocdLdflags(goMod.replace('v3.2.11', 'v3.2.12')), /v3\.2\.12: its tag's commit and date are not recorded/);
  });

  test('Argo Rollouts gets its version and a clean tree', () => {
    assert.deepEqual(rolloutsLdflags('module x\n\nrequire github.com/argoproj/argo-rollouts v1.10.1\n'), [
      '-X github.com/argoproj/argo-rollouts/utils/version.version=1.10.1',
      '-X github.com/argoproj/argo-rollouts/utils/version.gitTreeState=clean',
    ]);
  });

  test('a release whose commit is not known is stamped without one and reports +unknown, as GetVersion words it', () => {
    const v362 = goMod.replace('v3.2.11', 'v3.6.2');
    const flags = argocdLdflags(v362);
    assert.ok(flags.includes('-X github.com/argoproj/argo-cd/v3/common.gitTag=v3.6.2'));
    assert.ok(!flags.some((f) => f.includes('common.gitCommit=')));
    assert.equal(argocdReportedVersion(v362), 'v3.6.2+unknown');
    assert.equal(argocdReportedVersion(goMod), 'v3.2.11');
  });

  test('the committed go.mod builds a release the flags know, against the one Kubernetes', () => {
    const program = argocdProgram();
    const committed = readFileSync(path.join(program.moduleDir, 'go.mod'), 'utf8');
    const tag = requiredVersion(committed, 'github.com/argoproj/argo-cd/v3');
    assert.ok(program.ldflags.some((f) => f.endsWith(`common.gitTag=${tag}`)));
    assert.equal(replacements(committed).get('k8s.io/client-go')?.version, 'v0.37.2');
    assert.ok(program.ldflags.some((f) => f.endsWith('common.kubectlVersion=v0.37.2')));
  });
});

describe('one module for every program', () => {
  test('Argo CD, the Rollouts controller and kustomize build from cluster/go.mod, as the control plane does', () => {
    for (const program of [argocdProgram(), rolloutsProgram(), kustomizeProgram()]) {
      assert.equal(program.moduleDir, goModuleDir, program.name);
      assert.ok(program.sources.includes('go.mod') && program.sources.includes('go.sum'), program.name);
    }
    assert.equal(argocdProgram().package, './argocd');
    assert.ok(argocdProgram().sources.includes('argocd/main.go'));
  });
});
