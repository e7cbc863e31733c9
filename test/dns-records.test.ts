// The cluster DNS's records (cluster/node-agent/dns-records.ts), rule by rule of the Kubernetes DNS specification
// (https://github.com/kubernetes/dns/blob/master/docs/specification.md): Services with a ClusterIP, headless
// Services and their endpoints' readiness and hostnames, ExternalName, the schema version, pod names, NXDOMAIN.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IService } from 'kubernetes-models/v1/Service';
import { buildRecords, endpointReady, inZone, lookup, normalizeName, reverseName } from '../cluster/node-agent/dns-records.ts';

const service = (ns: string, name: string, spec: NonNullable<IService['spec']>, annotations?: Record<string, string>): IService => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: ns, name, ...(annotations ? { annotations } : {}) },
  spec,
});

type Ep = { addresses: string[]; hostname?: string; ready?: boolean };
const slice = (ns: string, svc: string, endpoints: Ep[], addressType: IEndpointSlice['addressType'] = 'IPv4', name = `${svc}-abcde`): IEndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
  addressType,
  endpoints: endpoints.map((e) => ({ addresses: e.addresses, ...(e.hostname ? { hostname: e.hostname } : {}), ...(e.ready !== undefined ? { conditions: { ready: e.ready } } : {}) })),
  ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
});

const a = (records: ReturnType<typeof buildRecords>, name: string): string[] | 'NXDOMAIN' => {
  const r = lookup(records, name, 'A');
  return r.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : r.records.map((x) => (x.type === 'A' ? x.address : `${x.type}`)).sort();
};

// The rollcall bundle's own objects: the headless governing Service (publishNotReadyAddresses) and the client one.
const headless = service('shop', 'rollcall-headless', { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'http', port: 5000, protocol: 'TCP' }] });
const plain = service('shop', 'rollcall', { clusterIP: '10.96.12.34', clusterIPs: ['10.96.12.34'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }] });
const kubernetes = service('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] });
const statefulPods = slice('shop', 'rollcall-headless', [
  { addresses: ['10.88.0.5'], hostname: 'rollcall-0', ready: true },
  { addresses: ['10.88.0.6'], hostname: 'rollcall-1', ready: true },
  { addresses: ['10.88.0.7'], hostname: 'rollcall-2', ready: true },
]);

describe('2.3: a Service with a ClusterIP', () => {
  const records = buildRecords([plain, kubernetes], []);

  test('<service>.<ns>.svc.<zone> is an A record of the ClusterIP (2.3.1)', () => {
    assert.deepEqual(a(records, 'rollcall.shop.svc.cluster.local'), ['10.96.12.34']);
    assert.deepEqual(a(records, 'kubernetes.default.svc.cluster.local'), ['10.96.0.1']);
  });

  test('names are case-insensitive and may end with the root dot (2.1)', () => {
    assert.deepEqual(a(records, 'Kubernetes.DEFAULT.svc.Cluster.Local.'), ['10.96.0.1']);
  });

  test('each named port has an SRV record pointing at the Service name; an unnamed port has none (2.3.2)', () => {
    const srv = lookup(records, '_http._tcp.rollcall.shop.svc.cluster.local', 'SRV');
    assert.deepEqual(srv.records, [{ type: 'SRV', name: '_http._tcp.rollcall.shop.svc.cluster.local', port: 80, target: 'rollcall.shop.svc.cluster.local' }]);
    assert.equal(lookup(records, '_81._tcp.rollcall.shop.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  });

  test('the ClusterIP has a PTR record naming the Service (2.3.3)', () => {
    assert.equal(reverseName('10.96.12.34'), '34.12.96.10.in-addr.arpa');
    assert.deepEqual(lookup(records, '34.12.96.10.in-addr.arpa', 'PTR').records, [{ type: 'PTR', name: '34.12.96.10.in-addr.arpa', target: 'rollcall.shop.svc.cluster.local' }]);
  });

  test('an existing name asked for another type answers no record, not NXDOMAIN (AAAA from getaddrinfo)', () => {
    assert.deepEqual(lookup(records, 'rollcall.shop.svc.cluster.local', 'AAAA'), { rcode: 'NOERROR', records: [] });
  });

  test('a ClusterIP Service does not get per-endpoint names, even with endpoints', () => {
    const withSlice = buildRecords([plain], [slice('shop', 'rollcall', [{ addresses: ['10.88.0.5'], hostname: 'rollcall-0' }])]);
    assert.equal(a(withSlice, 'rollcall-0.rollcall.shop.svc.cluster.local'), 'NXDOMAIN');
    assert.deepEqual(a(withSlice, 'rollcall.shop.svc.cluster.local'), ['10.96.12.34']);
  });
});

describe('2.4: a headless Service', () => {
  const records = buildRecords([headless], [statefulPods]);

  test('the Service name answers every ready endpoint address (2.4.1)', () => {
    assert.deepEqual(a(records, 'rollcall-headless.shop.svc.cluster.local'), ['10.88.0.5', '10.88.0.6', '10.88.0.7']);
  });

  test('a StatefulSet pod is <hostname>.<service>.<ns>.svc.<zone> from its endpoint hostname (2.4.1)', () => {
    assert.deepEqual(a(records, 'rollcall-0.rollcall-headless.shop.svc.cluster.local'), ['10.88.0.5']);
    assert.deepEqual(a(records, 'rollcall-2.rollcall-headless.shop.svc.cluster.local'), ['10.88.0.7']);
    assert.equal(a(records, 'rollcall-3.rollcall-headless.shop.svc.cluster.local'), 'NXDOMAIN');
  });

  test('each ready endpoint and named port is an SRV record naming the endpoint (2.4.2), each address a PTR (2.4.3)', () => {
    const srv = lookup(records, '_http._tcp.rollcall-headless.shop.svc.cluster.local', 'SRV').records;
    assert.deepEqual(srv.map((r) => (r.type === 'SRV' ? `${r.port} ${r.target}` : '')).sort(), [
      '5000 rollcall-0.rollcall-headless.shop.svc.cluster.local',
      '5000 rollcall-1.rollcall-headless.shop.svc.cluster.local',
      '5000 rollcall-2.rollcall-headless.shop.svc.cluster.local',
    ]);
    assert.deepEqual(lookup(records, '6.0.88.10.in-addr.arpa', 'PTR').records.map((r) => (r.type === 'PTR' ? r.target : '')), ['rollcall-1.rollcall-headless.shop.svc.cluster.local']);
  });

  test('not-ready endpoints are left out without publishNotReadyAddresses', () => {
    const svc = service('shop', 'web', { clusterIP: 'None' });
    const r = buildRecords([svc], [slice('shop', 'web', [{ addresses: ['10.88.1.1'], hostname: 'web-0', ready: true }, { addresses: ['10.88.1.2'], hostname: 'web-1', ready: false }])]);
    assert.deepEqual(a(r, 'web.shop.svc.cluster.local'), ['10.88.1.1']);
    assert.equal(a(r, 'web-1.web.shop.svc.cluster.local'), 'NXDOMAIN');
  });

  test('publishNotReadyAddresses publishes not-ready endpoints too', () => {
    const notReady = slice('shop', 'rollcall-headless', [{ addresses: ['10.88.0.9'], hostname: 'rollcall-0', ready: false }]);
    assert.deepEqual(a(buildRecords([headless], [notReady]), 'rollcall-0.rollcall-headless.shop.svc.cluster.local'), ['10.88.0.9']);
  });

  test('the tolerate-unready-endpoints annotation counts as publishNotReadyAddresses (2.1, ready)', () => {
    const svc = service('shop', 'old', { clusterIP: 'None' }, { 'service.alpha.kubernetes.io/tolerate-unready-endpoints': 'true' });
    assert.equal(endpointReady(svc, { conditions: { ready: false } }), true);
    assert.equal(endpointReady(service('shop', 'x', { clusterIP: 'None' }), { conditions: { ready: false } }), false);
  });

  test('an endpoint without a ready condition is ready (discovery/v1: nil means true)', () => {
    assert.equal(endpointReady(service('shop', 'x', { clusterIP: 'None' }), {}), true);
  });

  test('no ready endpoint: the Service name is NXDOMAIN (2.4.1)', () => {
    const svc = service('shop', 'empty', { clusterIP: 'None' });
    assert.equal(a(buildRecords([svc], []), 'empty.shop.svc.cluster.local'), 'NXDOMAIN');
    assert.equal(a(buildRecords([svc], [slice('shop', 'empty', [{ addresses: ['10.88.2.1'], ready: false }])]), 'empty.shop.svc.cluster.local'), 'NXDOMAIN');
  });

  test('an endpoint without a hostname is named by its address with dashes (2.1, hostname)', () => {
    const svc = service('shop', 'anon', { clusterIP: 'None' });
    const r = buildRecords([svc], [slice('shop', 'anon', [{ addresses: ['10.88.3.4'] }])]);
    assert.deepEqual(a(r, '10-88-3-4.anon.shop.svc.cluster.local'), ['10.88.3.4']);
  });

  test('endpoints of several slices add up; an address in two slices answers once', () => {
    const second = slice('shop', 'rollcall-headless', [{ addresses: ['10.88.0.7'], hostname: 'rollcall-2' }, { addresses: ['10.88.0.8'], hostname: 'rollcall-3' }], 'IPv4', 'rollcall-headless-fghij');
    const r = buildRecords([headless], [statefulPods, second]);
    assert.deepEqual(a(r, 'rollcall-headless.shop.svc.cluster.local'), ['10.88.0.5', '10.88.0.6', '10.88.0.7', '10.88.0.8']);
    assert.deepEqual(a(r, 'rollcall-3.rollcall-headless.shop.svc.cluster.local'), ['10.88.0.8']);
  });

  test('slices of another namespace, another Service or another address type are not this Service’s', () => {
    const r = buildRecords([headless], [slice('other', 'rollcall-headless', [{ addresses: ['10.88.9.1'], hostname: 'rollcall-0' }]), slice('shop', 'rollcall', [{ addresses: ['10.88.9.2'] }]), slice('shop', 'rollcall-headless', [{ addresses: ['fd00::1'], hostname: 'rollcall-0' }], 'IPv6', 'v6')]);
    assert.equal(a(r, 'rollcall-headless.shop.svc.cluster.local'), 'NXDOMAIN');
  });
});

describe('the rest of the zone', () => {
  const records = buildRecords([plain, headless, service('shop', 'ext', { type: 'ExternalName', externalName: 'db.example.com' })], [statefulPods]);

  test('an ExternalName Service is a CNAME to its external name, whatever type is asked (2.5)', () => {
    assert.deepEqual(lookup(records, 'ext.shop.svc.cluster.local', 'A').records, [{ type: 'CNAME', name: 'ext.shop.svc.cluster.local', target: 'db.example.com' }]);
  });

  test('dns-version.<zone> is a TXT record of the schema version (2.2)', () => {
    assert.deepEqual(lookup(records, 'dns-version.cluster.local', 'TXT').records, [{ type: 'TXT', name: 'dns-version.cluster.local', text: '1.0.1' }]);
  });

  test('<a>-<b>-<c>-<d>.<ns>.pod.<zone> is an A record of that address (2.6)', () => {
    assert.deepEqual(a(records, '10-88-0-5.shop.pod.cluster.local'), ['10.88.0.5']);
    assert.equal(a(records, '10-88-0-300.shop.pod.cluster.local'), 'NXDOMAIN');
  });

  test('names above records exist without records (NODATA), others do not exist (NXDOMAIN)', () => {
    for (const name of ['cluster.local', 'svc.cluster.local', 'shop.svc.cluster.local', 'rollcall-headless.shop.svc.cluster.local']) assert.equal(lookup(records, name, 'TXT').rcode, 'NOERROR', name);
    for (const name of ['nope.shop.svc.cluster.local', 'rollcall.other.svc.cluster.local', 'other.svc.cluster.local', 'rollcall', 'rollcall.shop']) assert.equal(lookup(records, name, 'A').rcode, 'NXDOMAIN', name);
  });

  test('names outside the cluster domain are NXDOMAIN: nothing is forwarded', () => {
    assert.equal(a(records, 'example.com'), 'NXDOMAIN');
    assert.equal(a(records, 'registry.npmjs.org'), 'NXDOMAIN');
    assert.equal(inZone(records, 'example.com'), false);
    assert.equal(inZone(records, 'rollcall.shop.svc.cluster.local.'), true);
  });

  test('the search list’s first tries (name + <ns>.svc.<zone>) are NXDOMAIN, so the resolver goes on', () => {
    assert.equal(a(records, 'rollcall-0.rollcall-headless.shop.svc.cluster.local.shop.svc.cluster.local'), 'NXDOMAIN');
    assert.deepEqual(a(records, 'rollcall-headless.shop.svc.cluster.local'), ['10.88.0.5', '10.88.0.6', '10.88.0.7']);
  });

  test('another cluster domain is honoured', () => {
    const r = buildRecords([plain], [], 'Corp.Internal.');
    assert.deepEqual(a(r, 'rollcall.shop.svc.corp.internal'), ['10.96.12.34']);
    assert.equal(a(r, 'rollcall.shop.svc.cluster.local'), 'NXDOMAIN');
    assert.equal(normalizeName('A.B.'), 'a.b');
  });
});
