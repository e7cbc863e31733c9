// The image the bundle deploys, as the local node runs it: its tag (kustomize/base/kustomization.yaml `images`) mapped
// to a build of this checkout (scripts/build.ts: server.js and hooks/*.js), which is what the image would contain.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../bundle/schema.ts';

/** The image tag the bundle deploys: the build the node maps it to. */
export function bundleTag(): string {
  const k = parseYaml(readFileSync(path.join(repoRoot, 'kustomize/base/kustomization.yaml'), 'utf8')) as { images: { newTag: string }[] };
  const tag = k.images[0]?.newTag;
  if (!tag) throw new Error('kustomize/base/kustomization.yaml names no image tag');
  return tag;
}

/** Builds this checkout's image contents into `dir` (scripts/build.ts --out). */
export async function buildImageDir(dir: string): Promise<void> {
  await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts/build.ts'), '--out', dir], { cwd: repoRoot, timeout: 180_000 });
}
