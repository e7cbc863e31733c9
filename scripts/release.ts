#!/usr/bin/env node
// `npm run release -- X.Y.Z`: a release is one change in one place. Moves, together and nothing else:
//   - package.json (and package-lock.json's copy) `version`: what the app reports (/visits) when built into the image;
//   - kustomize/base/kustomization.yaml `images[name=rollcall].newTag`: the image every overlay and hook runs.
// The image build (scripts/cluster/build-image.sh) tags the image with package.json's version, so the tag the
// manifests name, the tag built and the version shown are the same string. `npm run validate` refuses a tree where
// they differ. Commit the three files as one commit; reverting that commit is the rollback.
// Edits are textual (one line each) so comments and formatting stay as they are.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const releaseFiles = { packageJson: 'package.json', lock: 'package-lock.json', kustomization: 'kustomize/base/kustomization.yaml' } as const;

// Semantic Versioning 2.0.0 (https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string),
// restricted to what is also a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: no '+').
const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;

export class ReleaseError extends Error {
  override name = 'ReleaseError';
}

export interface ReleaseTexts {
  packageJson: string;
  lock: string;
  kustomization: string;
}

/** Returns the three files with the new version; throws a ReleaseError naming what is wrong. */
export function applyRelease(texts: ReleaseTexts, version: string): ReleaseTexts {
  if (!semver.test(version)) throw new ReleaseError(`not a release version (X.Y.Z or X.Y.Z-pre, usable as an image tag): ${JSON.stringify(version)}`);
  const replaceOnce = (text: string, re: RegExp, file: string, what: string) => {
    const matches = text.match(new RegExp(re.source, 'gm'));
    if (matches?.length !== 1) throw new ReleaseError(`${file}: expected exactly one ${what}, found ${matches?.length ?? 0}`);
    return text.replace(new RegExp(re.source, 'm'), (_m, head: string) => `${head}${version}`);
  };
  const packageJson = replaceOnce(texts.packageJson, /^(  "version": ")[^"]*(?=",?$)/, releaseFiles.packageJson, 'top-level "version"');
  // package-lock.json: the top-level version and the root package's (packages[""]).
  let lock = texts.lock.replace(/^(  "version": ")[^"]*(?=",?$)/m, (_m, head: string) => `${head}${version}`);
  lock = lock.replace(/("packages": \{\n    "": \{\n      "name": "[^"]*",\n      "version": ")[^"]*/, (_m, head: string) => `${head}${version}`);
  const kustomization = replaceOnce(texts.kustomization, /^(    newTag: )\S+$/, releaseFiles.kustomization, 'images[].newTag');
  return { packageJson, lock, kustomization };
}

export function release(root: string, version: string): ReleaseTexts {
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const next = applyRelease({ packageJson: read(releaseFiles.packageJson), lock: read(releaseFiles.lock), kustomization: read(releaseFiles.kustomization) }, version);
  writeFileSync(join(root, releaseFiles.packageJson), next.packageJson);
  writeFileSync(join(root, releaseFiles.lock), next.lock);
  writeFileSync(join(root, releaseFiles.kustomization), next.kustomization);
  return next;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const version = process.argv[2];
  if (!version || process.argv.length > 3) {
    console.error('usage: npm run release -- X.Y.Z');
    process.exitCode = 2;
  } else {
    try {
      release(join(fileURLToPath(import.meta.url), '..', '..'), version);
      console.log(`release ${version}: package.json, package-lock.json and kustomize/base/kustomization.yaml (image tag) updated.`);
      console.log(`next: npm run validate && git commit -am "Release ${version}" && scripts/cluster/build-image.sh`);
    } catch (err) {
      console.error(`release: ${(err as Error).message}`);
      process.exitCode = err instanceof ReleaseError ? 2 : 1;
    }
  }
}
