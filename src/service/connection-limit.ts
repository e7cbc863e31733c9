// How many connections the server keeps open at once, derived from the memory it may use, and what happens at the
// limit. Without a cap, about 14,000 connections that never finish their headers took the pod past its 256 MiB limit
// and the kernel killed it (OOM), with nothing in a metric or a log before.
//
// The limit: (memory limit - RESERVE_BYTES) / PER_CONNECTION_BYTES, at least MIN_CONNECTIONS.
// - The memory limit is, in this order: MEMORY_LIMIT_BYTES when set (Kubernetes can fill it from the container's own
//   limit with a resourceFieldRef), the cgroup's limit (v2 `memory.max`, v1 `memory.limit_in_bytes` of this process's
//   cgroup, from /proc/self/cgroup), else DEFAULT_MEMORY_LIMIT_BYTES, the StatefulSet's limit of 256 MiB.
// - RESERVE_BYTES is the server's own footprint: 110 MiB RSS at rest here after start-up (node with the service's
//   flags), up to 176 MiB after the keep-alive load of testing/faults/http-abuse.ts; 160 MiB leaves that work its room.
// - PER_CONNECTION_BYTES is the worst case measured per open connection: 24.5 KiB for a connection that sent just under
//   the 16 KiB header limit and never finished (9.4 KiB for a short unfinished header, 12.6 KiB for a chunked body
//   still arriving; RSS over 3,000 such connections), rounded up to 32 KiB.
// So 256 MiB gives (256 - 160) MiB / 32 KiB = 3,072 connections.
//
// At the limit a new connection is not simply refused: the kubelet's probes arrive on new connections, and refusing
// them would get a pod that is only being held open restarted. Instead the oldest connection that has no request in
// progress (idle keep-alive, headers or body still arriving) is closed to make room; a request that has fully arrived
// is never cut. Only when every open connection is working is the new one closed. Both are counted in
// http_connections_closed_at_limit_total{which="oldest-idle"|"new"}.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export const DEFAULT_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;
export const RESERVE_BYTES = 160 * 1024 * 1024;
export const PER_CONNECTION_BYTES = 32 * 1024;
export const MIN_CONNECTIONS = 64;

/** cgroup v1 writes this (PAGE_COUNTER_MAX rounded to pages) for "no limit"; anything at or above 2^62 means none. */
const NO_LIMIT = 2 ** 62;

export function connectionLimitFor(memoryLimitBytes: number): number {
  return Math.max(MIN_CONNECTIONS, Math.floor((memoryLimitBytes - RESERVE_BYTES) / PER_CONNECTION_BYTES));
}

/** The memory limit of this process's cgroup, or undefined when it has none (or it cannot be read). */
export function cgroupMemoryLimit(read: (file: string) => string = (file) => readFileSync(file, 'utf8')): number | undefined {
  let lines: string[];
  try {
    lines = read('/proc/self/cgroup').split('\n');
  } catch {
    return undefined;
  }
  const candidates: string[] = [];
  for (const line of lines) {
    // hierarchy-ID:controller-list:path (man 7 cgroups)
    const [, controllers, cgroupPath] = line.split(':', 3) as [string, string | undefined, string | undefined];
    if (cgroupPath === undefined || controllers === undefined) continue;
    if (controllers === '') candidates.push(`/sys/fs/cgroup${cgroupPath === '/' ? '' : cgroupPath}/memory.max`, '/sys/fs/cgroup/memory.max');
    else if (controllers.split(',').includes('memory')) candidates.push(`/sys/fs/cgroup/memory${cgroupPath === '/' ? '' : cgroupPath}/memory.limit_in_bytes`, '/sys/fs/cgroup/memory/memory.limit_in_bytes');
  }
  for (const file of candidates) {
    let text: string;
    try {
      text = read(file).trim();
    } catch {
      continue;
    }
    if (text === 'max') return undefined;
    const bytes = Number(text);
    if (Number.isFinite(bytes) && bytes > 0) return bytes >= NO_LIMIT ? undefined : bytes;
  }
  return undefined;
}

export interface MemoryLimit {
  bytes: number;
  source: 'MEMORY_LIMIT_BYTES' | 'cgroup' | 'default';
}

export function memoryLimit(configured: number | undefined, cgroup: number | undefined): MemoryLimit {
  if (configured !== undefined) return { bytes: configured, source: 'MEMORY_LIMIT_BYTES' };
  if (cgroup !== undefined) return { bytes: cgroup, source: 'cgroup' };
  return { bytes: DEFAULT_MEMORY_LIMIT_BYTES, source: 'default' };
}

export interface ConnectionLimitOptions {
  max: number;
  /** A connection closed at the limit: the oldest idle one to make room, or the new one when none is idle. */
  onClosed?: (which: 'oldest-idle' | 'new', open: number) => void;
}

export interface ConnectionTracker {
  /** A request on this socket has fully arrived and is being answered. */
  busy(socket: Socket): void;
  /** ...and its answer is finished (or the response closed). */
  done(socket: Socket): void;
  readonly open: number;
}

interface Tracked {
  working: number;
}

/** Applies the limit to `server`'s connections; the request guard reports when each socket is working. */
export function limitConnections(server: Server, options: ConnectionLimitOptions): ConnectionTracker {
  // Insertion order = age: the first idle entry found is the oldest idle connection.
  const sockets = new Map<Socket, Tracked>();
  server.on('connection', (socket: Socket) => {
    if (sockets.size >= options.max) {
      let victim: Socket | undefined;
      for (const [candidate, tracked] of sockets) {
        if (tracked.working === 0) {
          victim = candidate;
          break;
        }
      }
      if (victim === undefined) {
        options.onClosed?.('new', sockets.size);
        socket.destroy();
        return;
      }
      sockets.delete(victim);
      options.onClosed?.('oldest-idle', sockets.size);
      victim.destroy();
    }
    sockets.set(socket, { working: 0 });
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    busy(socket) {
      const tracked = sockets.get(socket);
      if (tracked) tracked.working++;
    },
    done(socket) {
      const tracked = sockets.get(socket);
      if (tracked && tracked.working > 0) tracked.working--;
    },
    get open() {
      return sockets.size;
    },
  };
}
