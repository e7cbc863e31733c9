// A Git repository the way a user has one, for Argo CD on the local control plane: this project's committed tree
// (HEAD of the checkout, never the uncommitted working tree) cloned into a working copy, pointed at a bare repository
// through scripts/cluster/point-source.sh (the mechanism scripts/cluster/git-server.sh uses for kind), committed, and
// pushed as branch `main`. Argo CD's repo server reads the bare repository by its file:// URL, as Argo CD's own e2e
// fixtures do. Later commits (a release, its revert) are made in the working copy and pushed the same way.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const projectRoot = path.resolve(import.meta.dirname, '../..');
const pointSource = path.join(projectRoot, 'scripts/cluster/point-source.sh');
const IDENTITY = ['-c', 'user.name=rollcall', '-c', 'user.email=rollcall@localhost'];

export interface LocalRepo {
  /** The bare repository Argo CD reads. */
  bare: string;
  /** Its URL as written into argocd/settings/source.yaml. */
  url: string;
  /** The branch Argo CD follows. */
  revision: string;
  /** The working copy commits are made in. */
  work: string;
  /** The commit `revision` points at in the bare repository. */
  head(): Promise<string>;
  /** Runs `change` on the working copy, commits everything it changed and pushes; resolves to the new commit. */
  commit(message: string, change: (work: string) => Promise<void>): Promise<string>;
  /** `git revert` of `commit`, pushed; resolves to the revert commit. */
  revert(commit: string): Promise<string>;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-C', cwd, ...IDENTITY, ...args], { maxBuffer: 16 << 20 });
  return stdout.trim();
}

/**
 * An empty repository of the same shape (a bare repository Argo CD reads by file://, a working copy commits are made
 * in): where `rollcall compare --cluster local --delivery argocd` commits each release's rendered manifests.
 */
export async function createEmptyRepo(dir: string, revision = 'main'): Promise<LocalRepo> {
  const bare = path.join(dir, 'manifests.git');
  const work = path.join(dir, 'manifests');
  await mkdir(work, { recursive: true });
  await exec('git', ['init', '--quiet', '--bare', '--initial-branch', revision, bare]);
  await exec('git', ['init', '--quiet', '--initial-branch', revision, work]);
  await git(work, ['commit', '--quiet', '--allow-empty', '-m', 'empty']);
  await git(work, ['push', '--quiet', bare, `HEAD:${revision}`]);
  return repoOf(bare, work, revision);
}

/** Creates `dir`/rollcall.git and `dir`/work from `source` (default: this checkout) and pushes the pointed tree. */
export async function createLocalRepo(dir: string, options: { source?: string; revision?: string } = {}): Promise<LocalRepo> {
  const source = options.source ?? projectRoot;
  const revision = options.revision ?? 'main';
  const bare = path.join(dir, 'rollcall.git');
  const work = path.join(dir, 'work');
  const url = `file://${bare}`;
  await mkdir(dir, { recursive: true });
  await exec('git', ['init', '--quiet', '--bare', '--initial-branch', revision, bare]);
  await exec('git', ['clone', '--quiet', '--no-hardlinks', source, work]);
  await git(work, ['checkout', '--quiet', '-B', revision]);
  await exec('bash', [pointSource, work, url, revision]);
  await git(work, ['commit', '--quiet', '-am', `Local cluster: repository ${url}`]);
  await git(work, ['push', '--quiet', '--force', bare, `HEAD:${revision}`]);

  return repoOf(bare, work, revision);
}

function repoOf(bare: string, work: string, revision: string): LocalRepo {
  const url = `file://${bare}`;
  const head = () => git(bare, ['rev-parse', revision]);
  const push = async () => {
    await git(work, ['push', '--quiet', bare, `HEAD:${revision}`]);
    return head();
  };
  return {
    bare,
    url,
    revision,
    work,
    head,
    async commit(message, change) {
      await change(work);
      await git(work, ['add', '--all']);
      await git(work, ['commit', '--quiet', '-m', message]);
      return push();
    },
    async revert(commit) {
      await git(work, ['revert', '--no-edit', commit]);
      return push();
    },
  };
}
