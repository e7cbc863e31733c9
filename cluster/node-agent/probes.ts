// One probe of a container, as the kubelet's prober runs it (pkg/kubelet/prober/prober.go runProbe): httpGet and
// tcpSocket against the pod's address. What a result means (thresholds, restarts, Ready) is decided by the kubelet
// rules in rehearsal/model/kubelet.ts; this file only asks the process.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { IContainer, IProbe } from 'kubernetes-models/v1';

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** Probe timings with the API server's defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe). */
export function probeTimings(p: IProbe): { initialDelayMs: number; periodMs: number; timeoutMs: number; successThreshold: number; failureThreshold: number } {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

/** A named port is the container's port of that name (pkg/kubelet/prober/prober.go findPortByName). */
export function resolvePort(port: number | string, container: IContainer): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const found = container.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`container ${container.name} has no port named ${port}`);
  return found.containerPort;
}

/**
 * httpGet: a response status in [200, 400) is a success (pkg/probe/http/http.go DoHTTPProbe); no keep-alive (the
 * prober closes each connection); https without certificate verification, as the kubelet probes. Redirects are
 * not followed here (the kubelet follows same-host ones); none of the project's probes redirect.
 */
function httpProbe(p: NonNullable<IProbe['httpGet']>, container: IContainer, podIP: string, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(p.port, container);
  const host = p.host ?? podIP;
  const https = (p.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.37', accept: '*/*', connection: 'close' };
  for (const h of p.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(
      { host, port, path: p.path ?? '/', method: 'GET', headers, agent: false, timeout: timeoutMs, ...(https ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 400, message: `HTTP probe ${p.path ?? '/'} answered ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: `Get "http://${host}:${port}${p.path ?? '/'}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(p: NonNullable<IProbe['tcpSocket']>, container: IContainer, podIP: string, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(p.port, container);
  const host = p.host ?? podIP;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: `connected to ${host}:${port}` });
    });
    socket.on('timeout', () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.on('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

/** Whether this node can run a probe; a pod whose probes it cannot run is refused at admission (admission.ts). */
export function probeSupported(p: IProbe): boolean {
  return Boolean(p.httpGet ?? p.tcpSocket);
}

export async function runProbe(p: IProbe, container: IContainer, podIP: string): Promise<ProbeResult> {
  const { timeoutMs } = probeTimings(p);
  if (p.httpGet) return httpProbe(p.httpGet, container, podIP, timeoutMs);
  if (p.tcpSocket) return tcpProbe(p.tcpSocket, container, podIP, timeoutMs);
  return { ok: false, message: 'exec and grpc probes are not supported by this node' };
}
