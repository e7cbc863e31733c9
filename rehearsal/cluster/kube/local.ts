// `--cluster local`: a control plane of this machine's own (cluster/local: etcd, kube-apiserver, the controllers and
// the scheduler built from the Kubernetes modules, kube-proxy) and the node agent (cluster/node-agent: pods as
// processes), started for the comparison and stopped after it, under their own name and subnet so a control plane
// started by `npm run cluster -- up` or by a test suite is left alone. The bundle's image tag runs this checkout's
// build. Needs root (network namespaces) and Go or a cached control plane binary.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachedBinaryPath, findGo } from '../../../cluster/controlplane/build.ts';
import { missingPrivileges, startControlPlane } from '../../../cluster/local/control-plane.ts';
import { startLocalNode } from '../../../cluster/local/node.ts';
import type { RehearsalCluster } from '../seam.ts';
import { kubeCluster } from './cluster.ts';

const OPTIONS = { name: 'rc-compare', subnet: 209, nodeName: 'compare-node' };

/** Why `--cluster local` cannot run here, or undefined. Checked before anything starts. */
export function localClusterUnavailable(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return `--cluster local: ${privileges}`;
  if (!findGo() && !existsSync(cachedBinaryPath())) return '--cluster local: Go is not installed and no control plane binary is cached (npm run cluster -- build needs Go 1.26 and the Go module proxy)';
  for (const tool of ['kubectl', 'nsenter', 'setpriv', 'ip']) {
    if (!(process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, tool)))) return `--cluster local: ${tool} is not installed`;
  }
  return undefined;
}

export async function startLocalCluster(log: (line: string) => void): Promise<RehearsalCluster> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-compare-cluster-'));
  // The pods' non-root users walk through it to their volumes.
  chmodSync(tmp, 0o711);
  const cp = await startControlPlane({ ...OPTIONS, stateDir: path.join(tmp, 'control-plane'), log });
  let agent: Awaited<ReturnType<typeof startLocalNode>> | undefined;
  const stop = async () => {
    await agent?.stop();
    await cp.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    agent = await startLocalNode(cp, { dir: tmp });
    log(`local control plane ${cp.name} up (${cp.apiserverUrl}), node ${agent.nodeName} registered`);
    return await kubeCluster({ kubeconfig: cp.kubeconfigs.admin }, `local control plane (${cp.name})`, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}
