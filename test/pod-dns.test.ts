// A pod's resolv.conf and hosts file as the kubelet writes them (cluster/node-agent/pod-dns.ts, after kubernetes
// pkg/kubelet/network/dns/dns.go GetPodDNS and pkg/kubelet/kubelet_pods.go managedHostsFileContent), case by case.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { hostsFile, parseResolvConf, podDnsConfig, resolvConf, type NodeDnsSettings } from '../cluster/node-agent/pod-dns.ts';

const pod = (spec: Partial<NonNullable<IPod['spec']>> = {}, name = 'rollcall-0', ns = 'shop'): IPod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: 'c' }], ...spec },
});

const node: NodeDnsSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host: { servers: ['10.255.255.53'], searches: [], options: [] } };

describe('resolv.conf by dnsPolicy', () => {
  test('ClusterFirst (the default): the cluster DNS alone, the three cluster search domains, ndots:5', () => {
    assert.equal(resolvConf(podDnsConfig(pod(), node)), 'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'ClusterFirst' }), node), podDnsConfig(pod(), node));
  });

  test('ClusterFirst keeps the node’s search domains after the cluster’s, without duplicates, and drops its options', () => {
    const withHost = { ...node, host: { servers: ['192.0.2.1'], searches: ['corp.example', 'cluster.local'], options: ['timeout:1'] } };
    assert.deepEqual(podDnsConfig(pod(), withHost), { servers: ['10.96.0.10'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'], options: ['ndots:5'] });
  });

  test('ClusterFirst without a cluster DNS falls back to the node’s configuration (Default)', () => {
    assert.deepEqual(podDnsConfig(pod(), { ...node, clusterDNS: [] }), node.host);
  });

  test('ClusterFirst on the host network is Default; ClusterFirstWithHostNet is the cluster’s', () => {
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), node).servers, ['10.255.255.53']);
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), node).servers, ['10.96.0.10']);
  });

  test('Default is the node’s resolv.conf; None starts empty and takes dnsConfig only', () => {
    assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), node), node.host);
    const none = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.9'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), node);
    assert.deepEqual(none, { servers: ['192.0.2.9'], searches: ['a.example'], options: ['ndots:2', 'edns0'] });
  });

  test('dnsConfig is appended; an option of the same name replaces the policy’s', () => {
    const c = podDnsConfig(pod({ dnsConfig: { nameservers: ['192.0.2.9'], searches: ['svc.cluster.local', 'b.example'], options: [{ name: 'ndots', value: '1' }] } }), node);
    assert.deepEqual(c, { servers: ['10.96.0.10', '192.0.2.9'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'b.example'], options: ['ndots:1'] });
  });

  test('limits: 3 nameservers, 32 search paths, none over 253 characters, 2048 characters in all', () => {
    const c = podDnsConfig(
      pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], searches: [...Array.from({ length: 40 }, (_, i) => `s${i}.example`), 'x'.repeat(254)] } }),
      node,
    );
    assert.equal(c.servers.length, 3);
    assert.equal(c.searches.length, 32);
    const long = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: Array.from({ length: 10 }, (_, i) => `${String(i).repeat(250)}`) } }), node);
    assert.ok(long.searches.join(' ').length <= 2048 && long.searches.length === 8, `${long.searches.length}`);
  });
});

describe('the node’s resolv.conf', () => {
  test('nameservers in order, the last search line, options merged by name, comments ignored', () => {
    const text = '# generated\nnameserver 192.0.2.1\nsearch a.example b.example.\nsearch c.example\nnameserver 192.0.2.2 ; second\noptions ndots:1 timeout:2\noptions ndots:3\n';
    assert.deepEqual(parseResolvConf(text), { servers: ['192.0.2.1', '192.0.2.2'], searches: ['c.example'], options: ['ndots:3', 'timeout:2'] });
  });
});

describe('the pod’s /etc/hosts', () => {
  test('a StatefulSet pod (hostname and subdomain) gets its fully qualified name first', () => {
    const hosts = hostsFile(pod({ hostname: 'rollcall-0', subdomain: 'rollcall-headless' }), '10.88.0.5', 'cluster.local');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^10\.88\.0\.5\trollcall-0\.rollcall-headless\.shop\.svc\.cluster\.local\trollcall-0$/m);
  });

  test('another pod gets its name', () => {
    assert.match(hostsFile(pod({}, 'smoke-x1'), '10.88.0.9', 'cluster.local'), /^10\.88\.0\.9\tsmoke-x1$/m);
  });
});
