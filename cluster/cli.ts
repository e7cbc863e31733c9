// `npm run cluster -- <command>`: the local control plane (cluster/local/control-plane.ts).
//
//   build    build the control plane binary if the cache has none; print its path
//   up       start etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy; print the kubeconfig
//   down     stop them by PID and delete the network namespace (the state directory and its logs stay)
//   status   which components run, the API server's /readyz
//   env      `export KUBECONFIG=...` for `eval "$(npm run -s cluster -- env)"`
//
// Options: --name NAME (default rollcall), --subnet N (10.87.N.0/24, default 0), --state-dir DIR
// (default /var/tmp/rollcall-cluster/NAME), --node NAME (the node identity's name, default NAME-node).
import { parseArgs } from 'node:util';
import { buildRecord, controlPlaneBinary } from './controlplane/build.ts';
import { controlPlaneStatus, readState, startControlPlane, stopControlPlane } from './local/control-plane.ts';
import { layout, type LayoutOptions } from './local/layout.ts';

const USAGE = 'usage: npm run cluster -- build|up|down|status|env [--name NAME] [--subnet N] [--state-dir DIR] [--node NAME]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, subnet: { type: 'string' }, 'state-dir': { type: 'string' }, node: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const options: LayoutOptions = {};
  if (values.name !== undefined) options.name = values.name;
  if (values.subnet !== undefined) {
    if (!/^\d+$/.test(values.subnet)) throw new Error(`--subnet ${values.subnet}: a number 0-255`);
    options.subnet = Number(values.subnet);
  }
  if (values['state-dir'] !== undefined) options.stateDir = values['state-dir'];
  if (values.node !== undefined) options.nodeName = values.node;
  const l = layout(options);
  const log = (line: string) => console.error(line);

  switch (positionals[0]) {
    case 'build': {
      console.log(await controlPlaneBinary({ log }));
      const record = await buildRecord();
      if (record) console.error(`built ${record.builtAt} with ${record.goVersion} in ${record.seconds} s, ${(record.bytes / 2 ** 20).toFixed(1)} MiB`);
      return 0;
    }
    case 'up': {
      const cp = await startControlPlane({ ...options, log });
      console.error(`control plane ${cp.name} up in ${((cp.readyAfterMs['kube-proxy'] ?? cp.readyAfterMs.controllers ?? 0) / 1000).toFixed(1)} s: ${cp.apiserverUrl} (network namespace ${cp.netns}, state ${cp.stateDir})`);
      if (cp.proxy.mode === 'none') console.error(`Services: ${cp.proxy.reason}`);
      else console.error(`Services: kube-proxy in ${cp.proxy.mode} mode inside the namespace (ClusterIPs answer there, not on the host)`);
      console.error(`node identity for a node agent: ${cp.kubeconfigs.node} (system:node:${cp.nodeName})`);
      console.error(`stop it with: npm run cluster -- down${values.name ? ` --name ${values.name}` : ''}`);
      console.log(`kubectl --kubeconfig ${cp.kubeconfigs.admin} get nodes`);
      return 0;
    }
    case 'down': {
      const stopped = await stopControlPlane(options);
      for (const s of stopped) console.error(`${s.component} (pid ${s.pid}): ${s.outcome}`);
      console.error(`control plane ${l.name} down; network namespace ${l.netns} deleted; logs kept in ${l.logDir}`);
      return 0;
    }
    case 'status': {
      const status = await controlPlaneStatus(options);
      if (!status.state) {
        console.log(`control plane ${l.name}: never started here (${l.stateFile} missing)`);
        return 3;
      }
      for (const p of status.running) console.log(`${p.component.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${p.running ? 'running' : 'stopped'}`);
      console.log(`network namespace ${l.netns}: ${status.namespace ? 'present' : 'absent'}`);
      if (status.readyz) console.log(`${status.state.apiserverUrl}/readyz: ${status.readyz}`);
      console.log(`admin kubeconfig: ${status.state.kubeconfigs.admin}`);
      return status.running.length > 0 && status.running.every((p) => p.running) ? 0 : 3;
    }
    case 'env': {
      const state = await readState(l);
      if (!state) throw new Error(`control plane ${l.name} was never started here (${l.stateFile} missing): npm run cluster -- up`);
      console.log(`export KUBECONFIG=${state.kubeconfigs.admin}`);
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`cluster: ${(error as Error).message}`);
  process.exitCode = 1;
}
