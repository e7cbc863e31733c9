// The image's entry (scripts/build.ts: server.js with its V8 code cache), built from the sources as they are now, for
// the programs that want to run what the image runs rather than `node src/server.ts` (`rollcall compare`'s pods).
// Built on demand into a cache keyed by a hash of everything the bundle is made from, so a change under src/, in the
// locked dependencies, in the build script or in the Node binary gives a new build, and an unchanged tree reuses the
// last one (a build takes seconds here; a lookup reads ~60 small files).
//
//   node_modules/.cache/rollcall-built/<hash>/server.js           the bundle
//   node_modules/.cache/rollcall-built/<hash>/.compile-cache/     its code cache, warmed there (it is keyed by path)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_ENTRY } from './service-command.ts';

const root = path.resolve(import.meta.dirname, '../..');
export const BUILT_ENTRY_CACHE = path.join(root, 'node_modules', '.cache', 'rollcall-built');
/** Older builds kept beside the current one (another worktree state, a rehearsal still running on one). */
const KEEP = 3;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** What the bundle is made from: the sources, the lockfile and package.json, the build script and its helpers, Node. */
export function sourceHash(base = root): string {
  const hash = createHash('sha256');
  hash.update(`node ${process.version} ${process.arch}\n`);
  const inputs = [
    ...filesUnder(path.join(base, 'src')),
    path.join(base, 'package.json'),
    path.join(base, 'package-lock.json'),
    path.join(base, 'scripts', 'build.ts'),
    ...filesUnder(path.join(base, 'scripts', 'lib')),
  ];
  for (const file of inputs) {
    hash.update(`${path.relative(base, file)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export interface BuiltEntry {
  /** The bundle to run: `node <npm start's flags> <entry>`. */
  entry: string;
  /** Its code cache, for NODE_COMPILE_CACHE (the image sets it the same way). */
  compileCache: string;
  hash: string;
  /** True when this call built it, false when the cache held it. */
  built: boolean;
}

/**
 * The built entry of the current sources: from the cache when it holds this hash, else built now (into a temporary
 * directory renamed into place, so a concurrent caller never sees half a bundle) and its code cache warmed where it
 * will run. A missing or partial code cache only means compiling as usual, so two callers warming it at once are
 * harmless.
 */
export async function builtEntry(): Promise<BuiltEntry> {
  const hash = sourceHash();
  const dir = path.join(BUILT_ENTRY_CACHE, hash);
  const entry = path.join(dir, IMAGE_ENTRY);
  const compileCache = path.join(dir, '.compile-cache');
  if (existsSync(entry)) return { entry, compileCache, hash, built: false };
  // Imported here, not above: esbuild is a devDependency, and a caller that cannot build falls back to the sources.
  const { build, warmCompileCache } = await import('../build.ts');
  mkdirSync(BUILT_ENTRY_CACHE, { recursive: true });
  const temporary = path.join(BUILT_ENTRY_CACHE, `.tmp-${hash}-${process.pid}`);
  try {
    await build(temporary);
    try {
      renameSync(temporary, dir);
    } catch (error) {
      // Another caller put the same build in place first: use theirs.
      if (!existsSync(entry)) throw error;
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  await warmCompileCache(dir);
  prune(hash);
  return { entry, compileCache, hash, built: true };
}

/** Keeps the current build and the KEEP most recent others; removes temporary directories a killed build left. */
function prune(current: string): void {
  for (const name of readdirSync(BUILT_ENTRY_CACHE).filter((n) => n.startsWith('.tmp-'))) {
    const file = path.join(BUILT_ENTRY_CACHE, name);
    if (Date.now() - statSync(file).mtimeMs > 3_600_000) rmSync(file, { recursive: true, force: true });
  }
  const others = readdirSync(BUILT_ENTRY_CACHE)
    .filter((name) => name !== current && !name.startsWith('.'))
    .map((name) => ({ name, mtime: statSync(path.join(BUILT_ENTRY_CACHE, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of others.slice(KEEP)) rmSync(path.join(BUILT_ENTRY_CACHE, name), { recursive: true, force: true });
}
