// Every `kubectl port-forward svc/NAME LOCAL:REMOTE` the docs offer must name a Service of the bundle and one of its
// ports: a wrong remote port fails only when a reader runs it ("unable to forward port because pod is not listening").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../bundle/schema.ts';

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

test('port-forward commands in the docs use a real Service port', () => {
  const ports = new Map<string, Set<number>>();
  for (const f of files(join(repoRoot, 'kustomize'), '.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { ports?: { port?: number }[] } } | null;
      if (o?.kind !== 'Service' || !o.metadata?.name) continue;
      for (const p of o.spec?.ports ?? []) if (typeof p.port === 'number') ports.set(o.metadata.name, (ports.get(o.metadata.name) ?? new Set()).add(p.port));
    }
  }
  assert.ok(ports.get('rollcall')?.has(5000), 'the client Service rollcall serves 5000');
  // Services of Argo CD's own install, not of this bundle: argocd-server serves 80 and 443
  // (argo-cd manifests/install.yaml, Service argocd-server).
  const upstreamServices = new Map([['argocd-server', new Set([80, 443])]]);
  const docs = [join(repoRoot, 'README.md'), ...['docs', 'kustomize', 'argocd', 'scripts'].flatMap((d) => files(join(repoRoot, d), '.md'))];
  const found: string[] = [];
  const problems: string[] = [];
  for (const f of docs) {
    for (const m of readFileSync(f, 'utf8').matchAll(/port-forward\s+(?:svc|service)\/([a-z0-9-]+)\s+(?:\d+:)?(\d+)/g)) {
      const [, name, remote] = m;
      found.push(`${relative(repoRoot, f)}: ${name} ${remote}`);
      const known = ports.get(name!) ?? upstreamServices.get(name!);
      if (!known) problems.push(`${relative(repoRoot, f)}: no Service ${name} in kustomize/`);
      else if (!known.has(Number(remote))) problems.push(`${relative(repoRoot, f)}: Service ${name} has port(s) ${[...known].join(', ')}, not ${remote}`);
    }
  }
  assert.ok(found.length >= 3, found.join('\n'));
  assert.deepEqual(problems, []);
});
