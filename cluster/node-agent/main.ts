// `node cluster/node-agent/main.ts --kubeconfig NODE.kubeconfig --state-dir DIR --images TAG=DIR[,TAG=DIR]`
// The node agent (agent.ts) as a program: run it as root inside the control plane's network namespace
// (`ip netns exec rollcall node cluster/node-agent/main.ts ...`). SIGTERM or SIGINT stops every pod's processes and
// exits; the Node and pod objects stay, as they do when a kubelet stops.
import { parseArgs } from 'node:util';
import { startNodeAgent } from './agent.ts';

const usage = `usage: node cluster/node-agent/main.ts --kubeconfig FILE --state-dir DIR --images TAG=DIR[,TAG=DIR...]
  [--provisioner-kubeconfig FILE] [--node-name NAME] [--node-ip IP] [--pod-cidr CIDR] [--node-binary PATH]
  [--dockerfile FILE] [--api-via service|direct] [--dns-kubeconfig FILE] [--cluster-dns IP] [--cluster-domain DOMAIN]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      'state-dir': { type: 'string' },
      images: { type: 'string' },
      'provisioner-kubeconfig': { type: 'string' },
      'node-name': { type: 'string' },
      'node-ip': { type: 'string' },
      'pod-cidr': { type: 'string' },
      'node-binary': { type: 'string' },
      dockerfile: { type: 'string' },
      'api-via': { type: 'string' },
      'dns-kubeconfig': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-domain': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (!values.kubeconfig || !values['state-dir'] || !values.images) fail('--kubeconfig, --state-dir and --images are required');
const apiVia = values['api-via'] ?? 'service';
if (apiVia !== 'service' && apiVia !== 'direct') fail(`--api-via must be service or direct, not ${apiVia}`);
if (process.getuid?.() !== 0) fail('the node agent must run as root (it creates network namespaces and runs pods as their users)');

try {
  const agent = await startNodeAgent({
    kubeconfig: values.kubeconfig,
    stateDir: values['state-dir'],
    images: values.images,
    apiVia,
    ...(values['provisioner-kubeconfig'] ? { provisionerKubeconfig: values['provisioner-kubeconfig'] } : {}),
    ...(values['node-name'] ? { nodeName: values['node-name'] } : {}),
    ...(values['node-ip'] ? { nodeIP: values['node-ip'] } : {}),
    ...(values['pod-cidr'] ? { podCIDR: values['pod-cidr'] } : {}),
    ...(values['node-binary'] ? { nodeBinary: values['node-binary'] } : {}),
    ...(values.dockerfile ? { dockerfile: values.dockerfile } : {}),
    ...(values['dns-kubeconfig'] ? { dnsKubeconfig: values['dns-kubeconfig'] } : {}),
    ...(values['cluster-dns'] ? { clusterDNS: values['cluster-dns'] } : {}),
    ...(values['cluster-domain'] ? { clusterDomain: values['cluster-domain'] } : {}),
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`stopping: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  process.stderr.write(`node-agent: ${(err as Error).message}\n`);
  process.exit(1);
}
