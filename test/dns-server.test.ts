// The cluster DNS's wire side (cluster/node-agent/dns-server.ts) on real sockets (127.0.0.1, a free port): a real
// resolver (node:dns, c-ares) over UDP, the same over TCP, negative answers with the zone's SOA, truncation, and the
// answers to broken or unsupported messages.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IService } from 'kubernetes-models/v1/Service';
import { buildRecords, inZone, lookup } from '../cluster/node-agent/dns-records.ts';
import { respond, startDnsServer, type DnsServer, type Lookup } from '../cluster/node-agent/dns-server.ts';

const many = Array.from({ length: 40 }, (_, i) => ({ addresses: [`10.88.1.${i + 1}`], hostname: `big-${i}`, conditions: { ready: true } }));
const services: IService[] = [
  { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'rollcall' }, spec: { clusterIP: '10.96.12.34', ports: [{ name: 'http', port: 80 }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'rollcall-headless' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true } },
  { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'big' }, spec: { clusterIP: 'None' } },
];
const slices: IEndpointSlice[] = [
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'shop', name: 'h', labels: { 'kubernetes.io/service-name': 'rollcall-headless' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.88.0.5'], hostname: 'rollcall-0' }] },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'shop', name: 'b', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints: many },
];
const records = buildRecords(services, slices);
const answer: Lookup = (name, type) => ({ ...lookup(records, name, type), authority: inZone(records, name) ? { zone: records.zone } : undefined });

let server: DnsServer;
before(async () => {
  server = await startDnsServer({ address: '127.0.0.1', port: 0, lookup: answer });
});
after(() => server.close());

function udpQuery(message: Buffer): Promise<Buffer> {
  const sock = createSocket('udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no UDP answer in 2 s')), 2000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    sock.send(message, server.port, '127.0.0.1');
  }).finally(() => sock.close());
}

function tcpQuery(message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const conn = connect(server.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    conn.on('error', reject);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        conn.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(message.length);
    conn.write(Buffer.concat([len, message]));
  });
}

const query = (name: string, type: 'A' | 'AAAA' | 'SRV' | 'TXT' = 'A', id = 42): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });

describe('the DNS server on UDP and TCP', () => {
  test('a resolver gets a Service’s ClusterIP and a StatefulSet pod’s address over UDP', async () => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    assert.deepEqual(await r.resolve4('rollcall.shop.svc.cluster.local'), ['10.96.12.34']);
    assert.deepEqual(await r.resolve4('rollcall-0.rollcall-headless.shop.svc.cluster.local'), ['10.88.0.5']);
    assert.deepEqual((await r.resolveSrv('_http._tcp.rollcall.shop.svc.cluster.local')).map(({ name, port }) => ({ name, port })), [{ name: 'rollcall.shop.svc.cluster.local', port: 80 }]);
  });

  test('an unknown name is ENOTFOUND (NXDOMAIN) for the resolver, inside and outside the cluster domain', async () => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    await assert.rejects(r.resolve4('nope.shop.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve4('example.com'), { code: 'ENOTFOUND' });
  });

  test('NXDOMAIN in the zone carries the zone’s SOA; the answer is authoritative and echoes id and question', async () => {
    const res = dnsPacket.decode(await udpQuery(query('Nope.shop.svc.cluster.local', 'A', 7)));
    assert.equal(res.id, 7);
    assert.equal((res as { rcode?: string }).rcode, 'NXDOMAIN');
    assert.equal(res.flag_aa, true);
    assert.equal(res.flag_rd, true);
    assert.equal(res.questions?.[0]?.name, 'Nope.shop.svc.cluster.local');
    assert.equal(res.authorities?.[0]?.type, 'SOA');
    assert.equal(res.authorities?.[0]?.name, 'cluster.local');
  });

  test('AAAA for an existing name is NOERROR without records (NODATA)', async () => {
    const res = dnsPacket.decode(await udpQuery(query('rollcall.shop.svc.cluster.local', 'AAAA')));
    assert.equal((res as { rcode?: string }).rcode, 'NOERROR');
    assert.equal(res.answers?.length, 0);
  });

  test('the same question over TCP gets the same answer', async () => {
    const res = dnsPacket.decode(await tcpQuery(query('rollcall-0.rollcall-headless.shop.svc.cluster.local')));
    assert.deepEqual(res.answers?.map((a) => a.type === 'A' && a.data), ['10.88.0.5']);
  });

  test('an answer over 512 bytes is truncated on UDP (TC) and whole on TCP', async () => {
    const udp = dnsPacket.decode(await udpQuery(query('big.shop.svc.cluster.local')));
    assert.equal(udp.flag_tc, true);
    assert.equal(udp.answers?.length, 0);
    const tcp = dnsPacket.decode(await tcpQuery(query('big.shop.svc.cluster.local')));
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 40);
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    assert.equal((await r.resolve4('big.shop.svc.cluster.local')).length, 40, 'the resolver retried over TCP');
  });
});

describe('messages that are not a plain query', () => {
  test('a message that does not decode is answered FORMERR with its id', () => {
    const broken = Buffer.concat([query('x.cluster.local').subarray(0, 14)]);
    const res = dnsPacket.decode(respond(broken, answer, 'udp')!);
    assert.equal(res.id, 42);
    assert.equal((res as { rcode?: string }).rcode, 'FORMERR');
  });

  test('fewer than 12 bytes, or a response, gets no answer (nothing to answer to)', () => {
    assert.equal(respond(Buffer.from([1, 2, 3]), answer, 'udp'), undefined);
    const aResponse = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x', class: 'IN' }] });
    assert.equal(respond(aResponse, answer, 'udp'), undefined);
  });

  test('an opcode other than QUERY is NOTIMP; no question is FORMERR; a failing lookup is SERVFAIL', () => {
    const notify = query('rollcall.shop.svc.cluster.local');
    notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (4 << 11), 2);
    assert.equal((dnsPacket.decode(respond(notify, answer, 'udp')!) as { rcode?: string }).rcode, 'NOTIMP');
    const empty = dnsPacket.encode({ type: 'query', id: 3, questions: [] });
    assert.equal((dnsPacket.decode(respond(empty, answer, 'udp')!) as { rcode?: string }).rcode, 'FORMERR');
    const failing: Lookup = () => {
      throw new Error('not synced');
    };
    assert.equal((dnsPacket.decode(respond(query('a.cluster.local'), failing, 'udp')!) as { rcode?: string }).rcode, 'SERVFAIL');
  });
});
