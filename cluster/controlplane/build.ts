// The control plane binary: built from main.go + go.mod + go.sum with one command, cached so a second start does not
// rebuild.
//
//   cache:  $XDG_CACHE_HOME/rollcall/controlplane/<key>/controlplane  (XDG_CACHE_HOME defaults to ~/.cache)
//           <key> = sha256 of go.mod, go.sum, main.go and the link flags; build.json beside it records the build
//   build:  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w <version flags>" (a static binary; see versionLdflags)
//
// A cache miss first runs the pre-flight (preflight.ts): a module the proxy does not serve is named before any compile.
//
// Usage: node cluster/controlplane/build.ts   (prints the binary's path; `npm run cluster -- build` does the same)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requiredVersion } from './go-mod.ts';
import { controlPlaneDir } from './gen-go-mod.ts';
import { preflight } from './preflight.ts';

const SOURCES = ['go.mod', 'go.sum', 'main.go'] as const;

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

export function buildArgs(goMod: string, out: string): string[] {
  return ['build', '-trimpath', '-buildvcs=false', '-ldflags', ['-s', '-w', ...versionLdflags(goMod)].join(' '), '-o', out, '.'];
}

/** The cache key: the sources' bytes and the build's arguments (the output path left out). */
export function cacheKey(sources: Record<(typeof SOURCES)[number], string>): string {
  const hash = createHash('sha256');
  for (const name of SOURCES) hash.update(`${name}\0${sources[name]}\0`);
  hash.update(buildArgs(sources['go.mod'], 'OUT').join('\0'));
  return hash.digest('hex');
}

function cacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rollcall', 'controlplane');
}

/** Where the binary of the current sources lives (whether built or not). */
export function cachedBinaryPath(): string {
  const sources = Object.fromEntries(SOURCES.map((name) => [name, readFileSync(path.join(controlPlaneDir, name), 'utf8')]));
  return path.join(cacheRoot(), cacheKey(sources as Record<(typeof SOURCES)[number], string>), 'controlplane');
}

/** `go` from PATH, else Go's default install location; undefined when neither exists. */
export function findGo(): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, 'go')), '/usr/local/go/bin/go'];
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

export interface BuildRecord {
  /** Wall-clock seconds of `go build` (cold when GOCACHE was empty; see docs/local-control-plane.md). */
  seconds: number;
  bytes: number;
  goVersion: string;
  builtAt: string;
}

export interface BinaryOptions {
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** The path of the control plane binary, built first when the cache has none for the current sources. */
export async function controlPlaneBinary(options: BinaryOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const binary = cachedBinaryPath();
  if (existsSync(binary)) return binary;
  const go = findGo();
  if (!go) throw new Error(`the control plane is not built (${binary}) and Go is missing: install Go 1.26 (https://go.dev/dl/) or put it on PATH`);
  log('control plane: pre-flight (go mod download)...');
  const modules = await preflight(go);
  log(`control plane: ${modules} modules available; building (a cold build takes many minutes on 2 cores)...`);
  await mkdir(path.dirname(binary), { recursive: true });
  // Built beside its final path and renamed: a concurrent start never sees a half-written binary.
  const partial = `${binary}.partial-${process.pid}`;
  const goMod = await readFile(path.join(controlPlaneDir, 'go.mod'), 'utf8');
  const started = performance.now();
  try {
    const stderr = await run(go, buildArgs(goMod, partial), { ...process.env, CGO_ENABLED: '0' });
    if (stderr.code !== 0) throw new Error(`go build failed (exit ${stderr.code}):\n${stderr.text.trim()}`);
    const seconds = (performance.now() - started) / 1000;
    const { size } = await stat(partial);
    const record: BuildRecord = { seconds: Math.round(seconds), bytes: size, goVersion: (await goVersion(go)) ?? '?', builtAt: new Date().toISOString() };
    await writeFile(path.join(path.dirname(binary), 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rename(partial, binary);
    log(`control plane: built in ${record.seconds} s, ${(size / 2 ** 20).toFixed(1)} MiB, ${binary}`);
    return binary;
  } finally {
    await rm(partial, { force: true });
  }
}

/** The record of the cached binary's build, if there is one. */
export async function buildRecord(): Promise<BuildRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(path.dirname(cachedBinaryPath()), 'build.json'), 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
}

async function goVersion(go: string): Promise<string | undefined> {
  const result = await run(go, ['env', 'GOVERSION'], process.env);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; text: string }> {
  const child = spawn(command, args, { cwd: controlPlaneDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, stdout, text };
}

if (process.argv[1] === import.meta.filename) {
  console.log(await controlPlaneBinary());
}
