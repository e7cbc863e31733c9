// The node of a local control plane: the node agent (cluster/node-agent) started inside the control plane's network
// namespace with the identities a real node has (its own node credentials; the provisioner and the cluster DNS as
// the admin, standing for their own controllers), the bundle's image tag mapped to a build of this checkout unless
// other images are given, its state and log under `dir`. What `compare --cluster local` and the cluster suites use.
import path from 'node:path';
import { spawnNodeAgent, type SpawnedNodeAgent } from '../node-agent/agent.ts';
import { buildImageDir, bundleTag } from './bundle-image.ts';
import type { ControlPlane } from './control-plane.ts';

export interface LocalNodeOptions {
  /** State (dir/node), the agent's log (dir/node-agent.log) and, unless `images` is given, the image build. */
  dir: string;
  /** Image tag → build directory; default: the bundle's tag → a build of this checkout in dir/images/<tag>. */
  images?: Map<string, string>;
  /** Run the volume provisioner (default true). */
  provisioner?: boolean;
}

export async function startLocalNode(cp: ControlPlane, options: LocalNodeOptions): Promise<SpawnedNodeAgent & { images: Map<string, string> }> {
  let images = options.images;
  if (!images) {
    const tag = bundleTag();
    const imageDir = path.join(options.dir, 'images', tag);
    await buildImageDir(imageDir);
    images = new Map([[tag, imageDir]]);
  }
  const agent = await spawnNodeAgent({
    kubeconfig: cp.kubeconfigs.node,
    ...(options.provisioner === false ? {} : { provisionerKubeconfig: cp.kubeconfigs.admin }),
    dnsKubeconfig: cp.kubeconfigs.admin,
    stateDir: path.join(options.dir, 'node'),
    images,
    netns: cp.netns,
    logFile: path.join(options.dir, 'node-agent.log'),
    apiVia: cp.proxy.mode === 'none' ? 'direct' : 'service',
  });
  return Object.assign(agent, { images });
}
