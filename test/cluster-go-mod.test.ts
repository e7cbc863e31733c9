// The one Go module, cluster/go.mod: its replace block generated from k8s.io/kubernetes's, Argo CD's and Argo
// Rollouts' go.mod (cluster/gen-go-mod.ts), the toolchain every go command runs with (go-build.ts goEnv), the control
// plane's version link flags read from it (controlplane/build.ts), and the committed go.mod checked against the
// generator. The last one needs Go (it reads upstream's go.mod through the module cache or proxy): a skip with the
// reason where Go is missing, a failure under CI=true. Upstream go.mod texts are cut-down samples in upstream's shape.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildArgs, cacheKey, findGo, versionLdflags } from '../cluster/controlplane/build.ts';
import { effectiveRequirements, replacements, requirements } from '../cluster/go-mod.ts';
import { goEnv, goToolchain } from '../cluster/go-build.ts';
import { generateGoMod, isKubernetesPin, regenerate, stagingReplacements, stagingVersion, upstreamReplacements, withReplaceBlock } from '../cluster/gen-go-mod.ts';

// A cut-down k8s.io/kubernetes go.mod in upstream's shape: staging modules required at v0.0.0 and replaced by
// local directories, sample modules only replaced, other k8s.io modules at real versions.
const upstream = `// This is a generated file. Do not edit directly.
module k8s.io/kubernetes

go 1.26.0

require (
	github.com/blang/semver/v4 v4.0.0
	k8s.io/client-go v0.0.0
	k8s.io/api v0.0.0
	k8s.io/klog/v2 v2.140.0
	k8s.io/kube-openapi v0.0.0-20260721132016-d427ff9ee9ad
	"k8s.io/pod-security-admission" v0.0.0 // quoted paths are legal
)

require k8s.io/cri-streaming v0.0.0

require (
	sigs.k8s.io/kustomize/api v0.21.1 // indirect
	k8s.io/gengo/v2 v2.0.0-20260408192533-25e2208e0dc3 // indirect
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming
	k8s.io/pod-security-admission => ./staging/src/k8s.io/pod-security-admission
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
	k8s.io/sample-cli-plugin => ./staging/src/k8s.io/sample-cli-plugin
)
`;

// Argo CD's shape: its own Kubernetes pins, CVE pins of other modules, a local path (gitops-engine).
const argocd = `module github.com/argoproj/argo-cd/v3

go 1.27.0

require k8s.io/client-go v0.37.0

replace (
	github.com/golang/protobuf => github.com/golang/protobuf v1.5.4

	// Avoid CVE-2022-3064
	gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0

	k8s.io/api => k8s.io/api v0.37.0
	k8s.io/client-go => k8s.io/client-go v0.37.0
	k8s.io/legacy-cloud-providers => k8s.io/legacy-cloud-providers v0.37.0
)

replace github.com/argoproj/argo-cd/gitops-engine/v3 => ./gitops-engine
`;

// Argo Rollouts' shape: older Kubernetes pins, a fork, and the CVE pin Argo CD has too.
const rollouts = `module github.com/argoproj/argo-rollouts

replace (
	github.com/go-telegram-bot-api/telegram-bot-api/v5 => github.com/OvyFlash/telegram-bot-api/v5 v5.0.0-20240108230938-63e5c59035bf
	gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0
	k8s.io/api => k8s.io/api v0.34.5
	k8s.io/legacy-cloud-providers => k8s.io/legacy-cloud-providers v0.30.14
)
`;

const ours = `module rollcall/cluster

go 1.27.0

toolchain go1.27.3

require (
	github.com/argoproj/argo-cd/v3 v3.6.2
	go.etcd.io/etcd/server/v3 v3.7.0
	k8s.io/kubernetes v1.37.2
)

require (
	github.com/argoproj/argo-rollouts v1.10.2 // indirect
	k8s.io/api v0.37.2 // indirect
)

replace (
	k8s.io/api => k8s.io/api v0.36.0
	k8s.io/old-module => k8s.io/old-module v0.36.0
)

replace github.com/x/y => ../y
`;

const upstreams = { 'k8s.io/kubernetes': upstream, 'github.com/argoproj/argo-cd/v3': argocd, 'github.com/argoproj/argo-rollouts': rollouts };

describe('the staging replace rule', () => {
  test('a release v1.M.P publishes its staging modules as v0.M.P', () => {
    assert.equal(stagingVersion('v1.37.2'), 'v0.37.2');
    assert.equal(stagingVersion('v1.34.0'), 'v0.34.0');
  });

  test('a pre-release or a pseudo-version of k8s.io/kubernetes is refused with its name', () => {
    assert.throws(() => stagingVersion('v1.37.0-rc.1'), /k8s\.io\/kubernetes v1\.37\.0-rc\.1: expected a release version/);
    assert.throws(() => stagingVersion('v0.0.0-20260101000000-abcdef123456'), /expected a release version/);
  });

  test('every k8s.io requirement at v0.0.0 is replaced, sorted; real versions and replace-only modules are not', () => {
    assert.deepEqual(
      stagingReplacements(upstream, 'v1.37.2').map((r) => `${r.old} => ${r.target.path} ${r.target.version}`),
      ['k8s.io/api => k8s.io/api v0.37.2', 'k8s.io/client-go => k8s.io/client-go v0.37.2', 'k8s.io/cri-streaming => k8s.io/cri-streaming v0.37.2', 'k8s.io/pod-security-admission => k8s.io/pod-security-admission v0.37.2'],
    );
  });

  test('a go.mod without staging requirements is an error, not an empty block', () => {
    assert.throws(() => stagingReplacements('module k8s.io/kubernetes\n\nrequire k8s.io/klog/v2 v2.140.0\n', 'v1.37.2'), /requires no k8s\.io module at v0\.0\.0/);
  });
});

describe('the upstream replace rule', () => {
  test('replacements naming a module version are kept in order; Kubernetes pins and local paths are left out', () => {
    assert.deepEqual(
      upstreamReplacements(argocd).map((r) => `${r.old} => ${r.target.path} ${r.target.version}`),
      ['github.com/golang/protobuf => github.com/golang/protobuf v1.5.4', 'gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0'],
    );
  });

  test('a Kubernetes pin is a k8s.io module replaced by itself at a v0.M.P release, nothing else', () => {
    assert.equal(isKubernetesPin('k8s.io/api', { path: 'k8s.io/api', version: 'v0.34.5' }), true);
    assert.equal(isKubernetesPin('k8s.io/legacy-cloud-providers', { path: 'k8s.io/legacy-cloud-providers', version: 'v0.30.14' }), true);
    assert.equal(isKubernetesPin('k8s.io/api', { path: 'example.com/fork/api', version: 'v0.34.5' }), false);
    assert.equal(isKubernetesPin('k8s.io/kube-openapi', { path: 'k8s.io/kube-openapi', version: 'v0.0.0-20260721132016-d427ff9ee9ad' }), false);
    assert.equal(isKubernetesPin('gopkg.in/yaml.v2', { path: 'gopkg.in/yaml.v2', version: 'v0.1.0' }), false);
  });

  test('two upstreams replacing one module differently is an error naming both', () => {
    const clash = rollouts.replace('gopkg.in/yaml.v2 v2.4.0', 'gopkg.in/yaml.v2 v2.3.0');
    assert.throws(
      () => generateGoMod(ours, { ...upstreams, 'github.com/argoproj/argo-rollouts': clash }),
      /gopkg\.in\/yaml\.v2: github\.com\/argoproj\/argo-cd\/v3@v3\.6\.2 replaces it by gopkg\.in\/yaml\.v2 v2\.4\.0, github\.com\/argoproj\/argo-rollouts@v1\.10\.2 by gopkg\.in\/yaml\.v2 v2\.3\.0; choose one by hand/,
    );
  });
});

describe('go.mod generation', () => {
  test('one Kubernetes: the staging modules at our version, each upstream\'s own replacements once, under its name', () => {
    const generated = generateGoMod(ours, upstreams);
    const replaced = replacements(generated);
    assert.equal(replaced.get('k8s.io/api')?.version, 'v0.37.2');
    assert.equal(replaced.get('k8s.io/client-go')?.version, 'v0.37.2');
    assert.equal(replaced.has('k8s.io/legacy-cloud-providers'), false);
    assert.equal(replaced.get('github.com/go-telegram-bot-api/telegram-bot-api/v5')?.path, 'github.com/OvyFlash/telegram-bot-api/v5');
    assert.equal(replaced.size, 4 + 2 + 1);
    assert.match(generated, /replace \(\n\t\/\/ k8s\.io\/kubernetes v1\.37\.2: its staging modules\n\tk8s\.io\/api => k8s\.io\/api v0\.37\.2\n/);
    assert.match(generated, /replace \(\n\t\/\/ github\.com\/argoproj\/argo-cd\/v3 v3\.6\.2\n\tgithub\.com\/golang\/protobuf/);
    // The yaml pin both upstreams carry appears once, under the first.
    assert.match(generated, /replace \(\n\t\/\/ github\.com\/argoproj\/argo-rollouts v1\.10\.2\n\tgithub\.com\/go-telegram-bot-api\/telegram-bot-api\/v5 => [^\n]*\n\)\n$/);
    assert.equal(generated.match(/gopkg\.in\/yaml\.v2 =>/g)?.length, 1);
    assert.doesNotMatch(generated, /old-module|v0\.36\.0|sample-|=> \.\.\/y|gitops-engine/);
    assert.equal(generated.match(/^replace \(/gm)?.length, 3);
  });

  test('generating twice gives the same text (the generated comment is part of what it replaces)', () => {
    const once = generateGoMod(ours, upstreams);
    assert.equal(generateGoMod(once, upstreams), once);
  });

  test('each block is sorted, as go mod tidy leaves it', () => {
    const generated = generateGoMod(ours, upstreams);
    for (const block of generated.match(/^replace \(\n(?:[^\n]*\n)*?\)\n/gm) ?? []) {
      const olds = block.split('\n').filter((l) => l.includes('=>')).map((l) => l.trim().split(' ')[0]!);
      assert.deepEqual(olds, [...olds].sort());
    }
  });

  test('a go.mod that does not require k8s.io/kubernetes or an upstream is refused', () => {
    assert.throws(() => generateGoMod('module m\n', upstreams), /go\.mod does not require k8s\.io\/kubernetes/);
    assert.throws(() => generateGoMod(ours.replace(/\tgithub\.com\/argoproj\/argo-rollouts [^\n]*\n/, ''), upstreams), /does not require github\.com\/argoproj\/argo-rollouts/);
  });

  test('withReplaceBlock drops every replace directive and the generated comment before appending', () => {
    const block = '// Generated by gen-go-mod.ts: x\n// y\nreplace (\n\ta => a v1\n)\n';
    const twice = withReplaceBlock(withReplaceBlock(ours, block), block);
    assert.equal(twice.match(/Generated by/g)?.length, 1);
    assert.equal(twice.match(/^replace/gm)?.length, 1);
    assert.doesNotMatch(twice, /old-module|\.\.\/y/);
  });
});

describe('the toolchain', () => {
  test('every go command runs the toolchain go.mod names, whatever GOTOOLCHAIN the machine has', () => {
    assert.equal(goToolchain(ours), 'go1.27.3');
    assert.equal(goEnv(ours, { PATH: '/bin', GOTOOLCHAIN: 'local' }).GOTOOLCHAIN, 'go1.27.3');
    assert.equal(goEnv(ours, { PATH: '/bin' }).PATH, '/bin');
  });

  test('a go.mod without a toolchain line leaves the environment as it is', () => {
    assert.equal(goToolchain('module m\n\ngo 1.26.0\n'), undefined);
    assert.equal(goEnv('module m\n', { GOTOOLCHAIN: 'local' }).GOTOOLCHAIN, 'local');
  });

  test('the committed go.mod names go1.27.3, the toolchain Argo CD v3.6 and Argo Rollouts v1.10.2 need', () => {
    const committed = readFileSync(path.join(import.meta.dirname, '../cluster/go.mod'), 'utf8');
    assert.equal(goToolchain(committed), 'go1.27.3');
  });
});

describe('go.mod reading', () => {
  test('requirements come from blocks and single lines, comments and quotes removed', () => {
    assert.deepEqual(requirements(ours), [
      { path: 'github.com/argoproj/argo-cd/v3', version: 'v3.6.2' },
      { path: 'go.etcd.io/etcd/server/v3', version: 'v3.7.0' },
      { path: 'k8s.io/kubernetes', version: 'v1.37.2' },
      { path: 'github.com/argoproj/argo-rollouts', version: 'v1.10.2' },
      { path: 'k8s.io/api', version: 'v0.37.2' },
    ]);
    assert.ok(requirements(upstream).some((r) => r.path === 'k8s.io/pod-security-admission'));
  });

  test('replacements by a module version are read; local directories are not modules to download', () => {
    assert.deepEqual([...replacements(ours).keys()], ['k8s.io/api', 'k8s.io/old-module']);
    assert.deepEqual(effectiveRequirements(ours).find((r) => r.path === 'k8s.io/api'), { path: 'k8s.io/api', version: 'v0.36.0' });
  });

  test('a malformed requirement is an error naming the line', () => {
    assert.throws(() => requirements('require (\n\tk8s.io/api\n)\n'), /cannot read requirement "k8s\.io\/api"/);
  });
});

describe('the build', () => {
  test('the version flags come from the k8s.io/kubernetes requirement, for both version packages', () => {
    const flags = versionLdflags(ours);
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      assert.ok(flags.includes(`-X ${pkg}.gitVersion=v1.37.2`));
      assert.ok(flags.includes(`-X ${pkg}.gitMajor=1`));
      assert.ok(flags.includes(`-X ${pkg}.gitMinor=37`));
      assert.ok(flags.includes(`-X ${pkg}.gitTreeState=clean`));
    }
    assert.ok(buildArgs(ours, '/o').join(' ').includes('-ldflags -s -w -X '));
  });

  test('the cache key changes with each source file and not with anything else', () => {
    const sources = { 'go.mod': ours, 'go.sum': 'sum', 'controlplane/main.go': 'package main' };
    const key = cacheKey(sources);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey({ ...sources }), key);
    assert.notEqual(cacheKey({ ...sources, 'go.sum': 'sum2' }), key);
    assert.notEqual(cacheKey({ ...sources, 'controlplane/main.go': 'package main\n' }), key);
    assert.notEqual(cacheKey({ ...sources, 'go.mod': ours.replace('v1.37.2', 'v1.37.1') }), key);
  });
});

test('the committed go.mod is what the generator writes from the downloaded upstream go.mod files', async (t) => {
  const go = findGo();
  if (!go) {
    assert.ok(process.env.CI !== 'true', 'Go is missing under CI=true: the go.mod check needs it');
    t.skip('Go is not installed: cannot download the upstream go.mod files to compare');
    return;
  }
  const { current, generated } = await regenerate(go);
  assert.equal(current, generated, 'cluster/go.mod differs from the generator: run node cluster/gen-go-mod.ts');
});
