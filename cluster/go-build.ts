// Builds a Go program of ours (a small `main`, or a tool named in go.mod) from upstream's published modules, once:
// the binary is cached under a key of its sources and build arguments, so a second start does not rebuild.
//
// Every program comes from one Go module, cluster/go.mod (gen-go-mod.ts says why), built with the Go toolchain its
// `toolchain` line names (goEnv).
//
//   cache:  $XDG_CACHE_HOME/rollcall/<name>/<key>/<name>   (XDG_CACHE_HOME defaults to ~/.cache)
//           <key> = sha256 of the module's source files and the build arguments; build.json beside it records the
//           build (seconds, bytes, Go version)
//   build:  CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w <flags>" -o <partial> <package>
//
// A cache miss first runs the pre-flight (controlplane/preflight.ts): a module the proxy does not serve is named before
// any compile. Shared by the control plane's and Argo CD's builds.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { preflight } from './preflight.ts';
import { runCaptured } from './run-captured.ts';

/** The one Go module every program is built from: cluster/go.mod. */
export const goModuleDir = import.meta.dirname;

/** The text of cluster/go.mod, read where a build, the generator or a test needs it. */
export function goModText(): string {
  return readFileSync(path.join(goModuleDir, 'go.mod'), 'utf8');
}

/** The toolchain a go.mod names (`toolchain go1.27.3`), or undefined. */
export function goToolchain(goMod: string): string | undefined {
  return /^toolchain\s+(go\S+)\s*$/m.exec(goMod)?.[1];
}

/**
 * The environment of every go command we run on cluster/go.mod: GOTOOLCHAIN set to the toolchain go.mod names. Why:
 * these machines start on Go 1.26 with GOTOOLCHAIN=local (/usr/local/go/go.env), under which the go command refuses a
 * go.mod whose `go` line is newer than itself and ignores its `toolchain` line; Argo CD v3.6 and Argo Rollouts v1.10.2
 * need Go 1.27. With GOTOOLCHAIN=go1.27.3 the go command fetches that toolchain from the Go module proxy (the module
 * golang.org/toolchain, about 76 MB, once per machine) and runs it (https://go.dev/doc/toolchain). Named in go.mod only.
 */
export function goEnv(goMod = goModText(), base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const toolchain = goToolchain(goMod);
  return toolchain ? { ...base, GOTOOLCHAIN: toolchain } : { ...base };
}

export interface GoProgram {
  /** Cache folder and binary name, e.g. `argocd`. */
  name: string;
  /** The folder holding go.mod (goModuleDir). */
  moduleDir: string;
  /** Files of moduleDir whose bytes make the cache key (go.mod, go.sum, the program's main.go...). */
  sources: readonly string[];
  /** The package to build: `./<folder>` for our own main, or an import path of a tool go.mod requires. */
  package: string;
  /** Link flags after `-s -w` (the -X version flags). */
  ldflags: readonly string[];
}

export interface BuildRecord {
  /** Wall-clock seconds of `go build` (cold when GOCACHE was empty). */
  seconds: number;
  bytes: number;
  goVersion: string;
  builtAt: string;
}

export interface BinaryOptions {
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export function buildArgs(program: GoProgram, out: string): string[] {
  return ['build', '-trimpath', '-buildvcs=false', '-ldflags', ['-s', '-w', ...program.ldflags].join(' '), '-o', out, program.package];
}

/** The cache key: the sources' bytes and the build's arguments (the output path left out). */
export function cacheKey(program: GoProgram, sources: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of program.sources) hash.update(`${name}\0${sources[name] ?? ''}\0`);
  hash.update(buildArgs(program, 'OUT').join('\0'));
  return hash.digest('hex');
}

function cacheRoot(name: string): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rollcall', name);
}

/** Where the binary of the current sources lives (whether built or not). */
export function cachedBinaryPath(program: GoProgram): string {
  const sources = Object.fromEntries(program.sources.map((file) => [file, readFileSync(path.join(program.moduleDir, file), 'utf8')]));
  return path.join(cacheRoot(program.name), cacheKey(program, sources), program.name);
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

/** The path of the program's binary, built first when the cache has none for the current sources. */
export async function goBinary(program: GoProgram, options: BinaryOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const binary = cachedBinaryPath(program);
  if (existsSync(binary)) return binary;
  const go = findGo();
  if (!go) throw new Error(`${program.name} is not built (${binary}) and Go is missing: install Go 1.26 (https://go.dev/dl/) or put it on PATH`);
  log(`${program.name}: pre-flight (go mod download)...`);
  const env = goEnv(readFileSync(path.join(program.moduleDir, 'go.mod'), 'utf8'));
  const modules = await preflight(go, program.moduleDir, program.name, env);
  log(`${program.name}: ${modules} modules available; building (a cold build takes many minutes on 2 cores)...`);
  await mkdir(path.dirname(binary), { recursive: true });
  // Built beside its final path and renamed: a concurrent start never sees a half-written binary.
  const partial = `${binary}.partial-${process.pid}`;
  const started = performance.now();
  try {
    // GOFLAGS=-mod=readonly: a build never rewrites the committed go.mod/go.sum.
    const result = await runCaptured(go, buildArgs(program, partial), program.moduleDir, { ...env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' });
    if (result.code !== 0) throw new Error(`${program.name}: go build failed (exit ${result.code}):\n${result.stderr.trim()}`);
    const seconds = (performance.now() - started) / 1000;
    const { size } = await stat(partial);
    const record: BuildRecord = { seconds: Math.round(seconds), bytes: size, goVersion: (await goVersion(go, program.moduleDir, env)) ?? '?', builtAt: new Date().toISOString() };
    await writeFile(path.join(path.dirname(binary), 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rename(partial, binary);
    log(`${program.name}: built in ${record.seconds} s, ${(size / 2 ** 20).toFixed(1)} MiB, ${binary}`);
    return binary;
  } finally {
    await rm(partial, { force: true });
  }
}

/** The record of the cached binary's build, if there is one. */
export async function buildRecord(program: GoProgram): Promise<BuildRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(path.dirname(cachedBinaryPath(program)), 'build.json'), 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
}

async function goVersion(go: string, dir: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const result = await runCaptured(go, ['env', 'GOVERSION'], dir, env);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

