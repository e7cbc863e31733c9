// The pieces of the local control plane that need neither root nor Go (cluster/local/): the identities its
// certificates carry, its addresses and names, kube-proxy's restart loop and how daemons are stopped by PID.
// The control plane itself is tested by `npm run test:cluster` (testing/cluster/).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { componentArgs, kubeProxyConfig } from '../cluster/local/components.ts';
import { restartLoop } from '../cluster/local/control-plane.ts';
import { kubeconfig } from '../cluster/local/kubeconfig.ts';
import { layout } from '../cluster/local/layout.ts';
import { setupCommands } from '../cluster/local/network.ts';
import { certSpecs, extensions, subject } from '../cluster/local/pki.ts';
import { isRunning, processStartTime, startDaemon, stopProcess } from '../cluster/local/processes.ts';

describe('layout', () => {
  test('the name and subnet choose the namespace, the veth, the addresses and the state directory', () => {
    const l = layout({ name: 'ci', subnet: 7 });
    assert.equal(l.netns, 'ci');
    assert.equal(l.hostVeth, 'veth-ci');
    assert.equal(l.apiserverUrl, 'https://10.87.7.1:6443');
    assert.equal(l.hostAddress, '10.87.7.254');
    assert.equal(l.stateDir, '/var/tmp/rollcall-cluster/ci');
    assert.equal(l.nodeName, 'ci-node');
    assert.equal(layout().apiserverUrl, 'https://10.87.0.1:6443');
  });

  test('names an interface could not carry (15 bytes) and subnets outside an octet are refused', () => {
    assert.throws(() => layout({ name: 'much-too-long' }), /1-10 characters/);
    assert.throws(() => layout({ name: 'Upper' }), /1-10 characters/);
    assert.throws(() => layout({ subnet: 256 }), /0-255/);
    assert.ok(layout({ name: 'abcdefghij' }).hostVeth.length <= 15);
  });

  test('the namespace gets a default route (for ClusterIPs) and every pod address as local', () => {
    const cmds = setupCommands(layout({ name: 'x', subnet: 3 })).map((c) => c.join(' '));
    assert.equal(cmds[0], 'netns add x');
    assert.ok(cmds.includes('-n x route add default via 10.87.3.254'));
    assert.ok(cmds.includes('-n x route add local 10.88.0.0/16 dev lo'));
  });
});

describe('identities', () => {
  const l = layout({ name: 'id', nodeName: 'node-a' });
  const spec = (file: string) => certSpecs(l).find((s) => s.file === file)!;

  test('the node is system:node:<name> in group system:nodes (the Node authorizer and NodeRestriction read these)', () => {
    assert.equal(subject(spec('node')), '/O=system:nodes/CN=system:node:node-a');
  });

  test('each component is the user RBAC bootstrap policy binds its role to; the admin is in system:masters', () => {
    assert.equal(subject(spec('controller-manager')), '/CN=system:kube-controller-manager');
    assert.equal(subject(spec('scheduler')), '/CN=system:kube-scheduler');
    assert.equal(subject(spec('kube-proxy')), '/CN=system:kube-proxy');
    assert.equal(subject(spec('admin')), '/O=system:masters/CN=kubernetes-admin');
  });

  test("etcd's certificates come from etcd's own CA, every other from the cluster's or the front proxy's", () => {
    assert.deepEqual(certSpecs(l).filter((s) => s.ca === 'etcd-ca').map((s) => s.file).sort(), ['apiserver-etcd-client', 'etcd-server']);
    assert.deepEqual(certSpecs(l).filter((s) => s.ca === 'front-proxy-ca').map((s) => s.file), ['front-proxy-client']);
  });

  test('the serving certificate names every address a client dials: advertise address, kubernetes ClusterIP, DNS names', () => {
    const ext = extensions(spec('apiserver'));
    assert.match(ext, /^extendedKeyUsage=serverAuth$/m);
    assert.match(ext, /subjectAltName=IP:10\.87\.0\.1,IP:10\.96\.0\.1,IP:127\.0\.0\.1,DNS:kubernetes,.*DNS:kubernetes\.default\.svc\.cluster\.local/);
    assert.doesNotMatch(extensions(spec('node')), /subjectAltName/);
  });

  test('a slash or comma in a name cannot add a subject field', () => {
    assert.equal(subject({ cn: 'a/O=system:masters', groups: ['g,h'] }), '/O=g\\,h/CN=a\\/O\\=system:masters');
  });

  test('a kubeconfig names one cluster, user and context with the certificates inline', () => {
    const config = parse(kubeconfig({ server: 'https://10.87.0.1:6443', cluster: 'c', user: 'u', ca: 'CA', cert: 'CERT', key: 'KEY' }));
    assert.equal(config['current-context'], 'c');
    assert.equal(config.clusters[0].cluster.server, 'https://10.87.0.1:6443');
    assert.equal(Buffer.from(config.users[0].user['client-key-data'], 'base64').toString(), 'KEY');
  });
});

describe('component flags', () => {
  const l = layout({ name: 'f' });
  test('the API server authorizes by Node and RBAC, adds NodeRestriction, advertises the namespace address', () => {
    const args = componentArgs(l, 'kube-apiserver');
    for (const flag of ['--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--advertise-address=10.87.0.1', '--service-cluster-ip-range=10.96.0.0/16']) {
      assert.ok(args.includes(flag), flag);
    }
    assert.ok(args.some((a) => a.startsWith('--service-account-signing-key-file=')));
    assert.ok(!args.some((a) => a.startsWith('--disable-admission-plugins')));
  });

  test('the controller-manager runs every default controller, each under its own service account', () => {
    const args = componentArgs(l, 'kube-controller-manager');
    assert.ok(args.includes('--controllers=*'));
    assert.ok(args.includes('--use-service-account-credentials=true'));
    assert.ok(args.some((a) => a.startsWith('--cluster-signing-cert-file=')));
  });

  test("kube-proxy's configuration leaves conntrack sysctls alone and names the node", () => {
    const config = parse(kubeProxyConfig(l, 'nftables'));
    assert.equal(config.kind, 'KubeProxyConfiguration');
    assert.equal(config.mode, 'nftables');
    assert.equal(config.hostnameOverride, 'f-node');
    assert.deepEqual(config.conntrack, { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
  });
});

describe('daemons', () => {
  test('the restart loop runs its command again after it exits, and stopping the loop stops the command too', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rollcall-daemon-'));
    try {
      const log = path.join(dir, 'log');
      const record = startDaemon('loop', restartLoop(['sh', '-c', 'echo run; sleep 0.2; exit 3']), log);
      const deadline = Date.now() + 10_000;
      while ((await readFile(log, 'utf8').catch(() => '')).split('run').length - 1 < 2 && Date.now() < deadline) await sleep(100);
      const text = await readFile(log, 'utf8');
      assert.ok(text.split('run').length - 1 >= 2, text);
      assert.match(text, /exited with status 3; restarting in 1 s/);
      assert.equal(await stopProcess(record, 2000), 'terminated');
      assert.equal(isRunning(record), false);
      // proc(5) stat: state is the first field after comm, pgrp the third.
      const live = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return Number(pgrp) === record.pid && state !== 'Z' ? [pid] : [];
        } catch {
          return [];
        }
      });
      assert.deepEqual(live, [], 'no live process of the group remains');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a PID is signalled only while its start time matches the record', async () => {
    const me = { component: 'me', pid: process.pid, startTime: processStartTime(process.pid)! + 1, log: '' };
    assert.equal(isRunning(me), false);
    assert.equal(await stopProcess(me), 'not running');
    assert.equal(processStartTime(2 ** 22 + 1), undefined);
  });
});
