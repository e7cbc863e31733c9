// A DNS responder over UDP and TCP (RFC 1035 4.2: TCP messages carry a two-byte length) answering from a `lookup`
// function: the cluster DNS's wire side. Packets are read and written by `dns-packet` (a well-kept encoder used by
// multicast-dns and many resolvers), so the only protocol decisions here are which flags and code an answer carries.
// Every query gets an answer: one that cannot be decoded gets FORMERR when its id can be read, an opcode other than
// QUERY gets NOTIMP, and an answer too big for UDP is sent truncated (TC) so the client retries over TCP.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer as PacketAnswer, Question } from 'dns-packet';
import { RECORD_TTL, type Answer, type DnsRecord } from './dns-records.ts';

export type Lookup = (qname: string, qtype: string) => Answer & { authority?: DnsRecordSoa | undefined };

export interface DnsRecordSoa {
  zone: string;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
/** RFC 1035 4.2.1: a UDP answer without EDNS fits 512 bytes. */
const UDP_LIMIT = 512;

function toWire(r: DnsRecord, qname: string): PacketAnswer {
  // The answer echoes the question's spelling of the name (names are compared case-insensitively).
  const name = r.name === qname.toLowerCase().replace(/\.+$/, '') ? qname.replace(/\.+$/, '') : r.name;
  switch (r.type) {
    case 'A':
      return { type: 'A', name, ttl: RECORD_TTL, data: r.address };
    case 'PTR':
      return { type: 'PTR', name, ttl: RECORD_TTL, data: r.target };
    case 'CNAME':
      return { type: 'CNAME', name, ttl: RECORD_TTL, data: r.target };
    case 'TXT':
      return { type: 'TXT', name, ttl: RECORD_TTL, data: r.text };
    case 'SRV':
      // Priority and weight are not prescribed (RFC 2782 values; the specification's examples use 10 100).
      return { type: 'SRV', name, ttl: RECORD_TTL, data: { priority: 10, weight: 100, port: r.port, target: r.target } };
  }
}

/** The zone's SOA, sent in the authority section of a negative answer (RFC 2308 3) so resolvers may cache it. */
function soa(zone: string): PacketAnswer {
  return {
    type: 'SOA',
    name: zone,
    ttl: RECORD_TTL,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: RECORD_TTL },
  };
}

/** The id of a message too broken to decode, if its header is there (for a FORMERR answer). */
const headerId = (query: Buffer): number | undefined => (query.length >= 2 ? query.readUInt16BE(0) : undefined);

/** The answer to one message, or undefined for one that is not a query at all (no id, or a response). */
export function respond(query: Buffer, lookup: Lookup, transport: 'udp' | 'tcp'): Buffer | undefined {
  let packet: ReturnType<typeof dnsPacket.decode>;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    const id = headerId(query);
    if (id === undefined || query.length < 12 || (query.readUInt16BE(2) & 0x8000) !== 0) return undefined;
    return dnsPacket.encode({ type: 'response', id, flags: RCODE.FORMERR, questions: [] });
  }
  if (packet.type === 'response') return undefined;
  const rd = packet.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  const opcode = (packet as { opcode?: string }).opcode;
  const question: Question | undefined = packet.questions?.[0];
  const reply = (rcode: number, extra: { answers?: PacketAnswer[]; authorities?: PacketAnswer[]; aa?: boolean } = {}): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: packet.id ?? 0,
      flags: (extra.aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rd | rcode,
      questions: question ? [question] : [],
      answers: extra.answers ?? [],
      authorities: extra.authorities ?? [],
    });
  if (opcode !== 'QUERY') return reply(RCODE.NOTIMP);
  if (!question || (packet.questions?.length ?? 0) !== 1) return reply(RCODE.FORMERR);
  let answer: ReturnType<Lookup>;
  try {
    answer = lookup(question.name, question.type);
  } catch {
    return reply(RCODE.SERVFAIL);
  }
  const answers = answer.records.map((r) => toWire(r, question.name));
  const authorities = answer.records.length === 0 && answer.authority ? [soa(answer.authority.zone)] : [];
  const out = reply(RCODE[answer.rcode], { answers, authorities, aa: answer.authority !== undefined });
  if (transport === 'udp' && out.length > UDP_LIMIT) {
    // RFC 2181 9: send what fits, flagged truncated; the resolver asks again over TCP.
    return dnsPacket.encode({
      type: 'response',
      id: packet.id ?? 0,
      flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.AUTHORITATIVE_ANSWER | rd | RCODE[answer.rcode],
      questions: [question],
      answers: [],
    });
  }
  return out;
}

export interface DnsServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `lookup` on UDP and TCP at `address:port` (port 0: a free port, the same for both). A TCP connection may
 * carry several queries; it is closed after 10 s idle, as resolvers open one per lookup.
 */
export async function startDnsServer(opts: { address: string; port: number; lookup: Lookup; onError?: (err: Error) => void }): Promise<DnsServer> {
  const onError = opts.onError ?? (() => undefined);
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(opts.port, opts.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const conns = new Set<NetSocket>();
    const tcp = createServer((conn) => {
      conns.add(conn);
      conn.on('close', () => conns.delete(conn));
      conn.setTimeout(10_000, () => conn.destroy());
      conn.on('error', () => undefined);
      let buffered = Buffer.alloc(0);
      conn.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const len = buffered.readUInt16BE(0);
          if (buffered.length < 2 + len) break;
          const msg = buffered.subarray(2, 2 + len);
          buffered = buffered.subarray(2 + len);
          const out = respond(msg, opts.lookup, 'tcp');
          if (!out) {
            conn.destroy();
            return;
          }
          const lenPrefix = Buffer.alloc(2);
          lenPrefix.writeUInt16BE(out.length);
          conn.write(Buffer.concat([lenPrefix, out]));
        }
      });
    });
    const listening = await new Promise<Error | undefined>((resolve) => {
      tcp.once('error', resolve);
      tcp.listen(port, opts.address, () => resolve(undefined));
    });
    if (listening) {
      udp.close();
      // Port 0 gave a UDP port whose TCP twin is taken: try another.
      if (opts.port === 0 && (listening as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
      throw listening;
    }
    udp.on('message', (msg, rinfo) => {
      const out = respond(msg, opts.lookup, 'udp');
      if (out) udp.send(out, rinfo.port, rinfo.address, (err) => err && onError(err));
    });
    udp.on('error', onError);
    tcp.on('error', onError);
    return { address: opts.address, port, close: () => closeBoth(udp, tcp, conns) };
  }
}

async function closeBoth(udp: Socket, tcp: Server, conns: Set<NetSocket>): Promise<void> {
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  await new Promise<void>((resolve) => {
    tcp.close(() => resolve());
    // Idle TCP clients would hold close() open until their timeout.
    for (const c of conns) c.destroy();
  });
}
