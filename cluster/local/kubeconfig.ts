// Kubeconfig files (the clientcmd v1 Config format, kubernetes `staging/src/k8s.io/client-go/tools/clientcmd/api/v1/
// types.go`) for each identity of pki.ts, with the certificates inlined so a file can be copied elsewhere alone.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Layout } from './layout.ts';

export function kubeconfig(options: { server: string; cluster: string; user: string; ca: string; cert: string; key: string }): string {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: options.cluster, cluster: { server: options.server, 'certificate-authority-data': b64(options.ca) } }],
    users: [{ name: options.user, user: { 'client-certificate-data': b64(options.cert), 'client-key-data': b64(options.key) } }],
    contexts: [{ name: options.cluster, context: { cluster: options.cluster, user: options.user } }],
    'current-context': options.cluster,
  });
}

/** Writes the five kubeconfigs of l.kubeconfigs from the certificates in l.pkiDir. */
export async function writeKubeconfigs(l: Layout): Promise<void> {
  const read = (file: string) => readFile(path.join(l.pkiDir, file), 'utf8');
  const ca = await read('ca.crt');
  const files: [string, string, string][] = [
    [l.kubeconfigs.admin, 'admin', 'kubernetes-admin'],
    [l.kubeconfigs.controllerManager, 'controller-manager', 'system:kube-controller-manager'],
    [l.kubeconfigs.scheduler, 'scheduler', 'system:kube-scheduler'],
    [l.kubeconfigs.node, 'node', `system:node:${l.nodeName}`],
    [l.kubeconfigs.kubeProxy, 'kube-proxy', 'system:kube-proxy'],
  ];
  for (const [target, cert, user] of files) {
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const text = kubeconfig({ server: l.apiserverUrl, cluster: l.name, user, ca, cert: await read(`${cert}.crt`), key: await read(`${cert}.key`) });
    await writeFile(target, text, { mode: 0o600 });
  }
}
