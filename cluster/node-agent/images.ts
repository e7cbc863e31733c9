// Images without a registry: an image reference's tag names a directory holding a build of the project at that
// version (`node scripts/build.ts --out DIR`: the image's /app), so two releases run side by side. What the image
// runs (ENTRYPOINT, CMD, WORKDIR, ENV, USER) is read from the runtime stage of the project's Dockerfile, the one
// place that says it; nothing here repeats it.
// https://docs.docker.com/reference/dockerfile/
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  env: [string, string][];
  /** USER as uid/gid numbers (the Dockerfile uses a numeric user: Kubernetes' runAsNonRoot can only check those). */
  uid?: number;
  gid?: number;
}

export interface Image {
  /** The directory standing for the image's WORKDIR (/app). */
  dir: string;
  config: ImageConfig;
}

/** Joins `\` continuations and drops comments: one instruction per entry. */
function instructions(text: string): { op: string; rest: string }[] {
  const out: { op: string; rest: string }[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && current === '') continue;
    if (/^\s*#/.test(line)) continue;
    const continued = /\\\s*$/.test(line);
    current += (current ? ' ' : '') + line.replace(/\\\s*$/, '').trim();
    if (continued) continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(current.trim());
    if (m?.[1] && m[2] !== undefined) out.push({ op: m[1].toUpperCase(), rest: m[2].trim() });
    current = '';
  }
  return out;
}

/** Exec form (a JSON array) only: the shell form would need a shell in the image, which ours has no use for. */
function execForm(op: string, rest: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(rest);
  } catch {
    throw new Error(`Dockerfile ${op} must use the exec form (a JSON array), not ${rest}`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`Dockerfile ${op} is not a list of strings: ${rest}`);
  return value;
}

/** ENV key=value pairs (quoted values allowed), as written in the runtime stage. */
function envPairs(rest: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of rest.matchAll(re)) {
    const raw = m[2] ?? '';
    pairs.push([m[1] ?? '', raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return pairs;
}

/** The configuration of the Dockerfile's last stage (the one an image is built from). */
export function parseDockerfile(text: string): ImageConfig {
  let config: ImageConfig = { entrypoint: [], cmd: [], workingDir: '/', env: [] };
  for (const { op, rest } of instructions(text)) {
    switch (op) {
      case 'FROM':
        // A new stage: what the image runs is what the last stage says (base image settings are not known here).
        config = { entrypoint: [], cmd: [], workingDir: '/', env: [] };
        break;
      case 'ENV':
        for (const [k, v] of envPairs(rest)) {
          config.env = config.env.filter(([name]) => name !== k);
          config.env.push([k, v]);
        }
        break;
      case 'WORKDIR':
        config.workingDir = path.posix.resolve(config.workingDir, rest);
        break;
      case 'ENTRYPOINT':
        config.entrypoint = execForm(op, rest);
        // Docker: setting ENTRYPOINT resets a CMD inherited from the base image, not one set later.
        config.cmd = [];
        break;
      case 'CMD':
        config.cmd = execForm(op, rest);
        break;
      case 'USER': {
        const [u, g] = rest.split(':');
        if (!/^\d+$/.test(u ?? '') || (g !== undefined && !/^\d+$/.test(g))) throw new Error(`Dockerfile USER must be numeric uid[:gid], not ${rest}`);
        config.uid = Number(u);
        config.gid = Number(g ?? u);
        break;
      }
      default:
        break;
    }
  }
  return config;
}

/**
 * `--images` as given on the command line: `TAG=DIR,TAG=DIR` (a tag matches any repository) or `REPO:TAG=DIR`
 * (an exact reference). Each directory must hold the build's server.js.
 */
export function parseImageMap(spec: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new Error(`--images entry ${JSON.stringify(part)} is not TAG=DIR`);
    const dir = path.resolve(part.slice(eq + 1));
    if (!existsSync(path.join(dir, 'server.js'))) throw new Error(`--images ${part}: ${dir} holds no server.js (build it with node scripts/build.ts --out ${dir})`);
    map.set(part.slice(0, eq), dir);
  }
  return map;
}

/** The tag of an image reference (`ghcr.io/rollcall/rollcall:1.0.0` → `1.0.0`); a digest or no tag gives undefined. */
export function imageTag(ref: string): string | undefined {
  if (ref.includes('@')) return undefined;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  return colon < 0 ? undefined : ref.slice(colon + 1);
}

export class ImageStore {
  readonly #dirs: Map<string, string>;
  readonly #config: ImageConfig;

  constructor(dirs: Map<string, string>, config: ImageConfig) {
    this.#dirs = dirs;
    this.#config = config;
  }

  static fromDockerfile(dirs: Map<string, string>, dockerfile: string): ImageStore {
    return new ImageStore(dirs, parseDockerfile(readFileSync(dockerfile, 'utf8')));
  }

  /** The image for a reference, or undefined when this node has no build for it (the kubelet's ErrImagePull). */
  resolve(ref: string): Image | undefined {
    const dir = this.#dirs.get(ref) ?? this.#dirs.get(imageTag(ref) ?? '');
    return dir === undefined ? undefined : { dir, config: this.#config };
  }

  get tags(): string[] {
    return [...this.#dirs.keys()];
  }
}
