// The control plane's certificates and service-account key, made with the openssl CLI. The identities follow
// kubeadm's (kubernetes `cmd/kubeadm/app/phases/certs/certlist.go` and `.../kubeconfig/kubeconfig.go`), because RBAC's
// bootstrap policy binds its roles to those names (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`,
// ClusterRoleBindings): system:kube-controller-manager, system:kube-scheduler, system:kube-proxy (→
// system:node-proxier), system:masters for the admin, and system:node:<name> in group system:nodes, which the Node
// authorizer and NodeRestriction admission recognise as a node. The client certificate's CN is the user and each O
// a group (x509 authenticator, `staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go`, CommonNameUserConversion).
//
// Two CAs as kubeadm has them: the cluster CA (API server serving and clients, controller-manager's signer) and
// etcd's own, so that no cluster client certificate is accepted by etcd. ECDSA P-256 keys (quick to make, accepted by
// every component); RSA for the service-account key, as kubeadm makes it.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Layout } from './layout.ts';

const exec = promisify(execFile);

export interface CertSpec {
  /** File stem under the pki directory: <file>.crt and <file>.key. */
  file: string;
  ca: 'ca' | 'etcd-ca';
  cn: string;
  groups?: string[];
  usage: ('serverAuth' | 'clientAuth')[];
  ips?: string[];
  dns?: string[];
}

/** Every certificate of the control plane, by whom it is for. */
export function certSpecs(l: Layout): CertSpec[] {
  return [
    { file: 'etcd-server', ca: 'etcd-ca', cn: 'etcd-server', usage: ['serverAuth', 'clientAuth'], ips: ['127.0.0.1'], dns: ['localhost'] },
    { file: 'apiserver-etcd-client', ca: 'etcd-ca', cn: 'kube-apiserver-etcd-client', usage: ['clientAuth'] },
    {
      file: 'apiserver',
      ca: 'ca',
      cn: 'kube-apiserver',
      usage: ['serverAuth'],
      // The addresses and names clients use: the advertise address (host and namespace), the `kubernetes` Service
      // from pods, loopback inside the namespace (kubeadm's apiserver SANs, certlist.go KubeadmCertAPIServer).
      ips: [l.address, l.kubernetesServiceIp, '127.0.0.1'],
      dns: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${l.clusterDomain}`, 'localhost'],
    },
    { file: 'admin', ca: 'ca', cn: 'kubernetes-admin', groups: ['system:masters'], usage: ['clientAuth'] },
    { file: 'controller-manager', ca: 'ca', cn: 'system:kube-controller-manager', usage: ['clientAuth'] },
    { file: 'scheduler', ca: 'ca', cn: 'system:kube-scheduler', usage: ['clientAuth'] },
    { file: 'node', ca: 'ca', cn: `system:node:${l.nodeName}`, groups: ['system:nodes'], usage: ['clientAuth'] },
    { file: 'kube-proxy', ca: 'ca', cn: 'system:kube-proxy', usage: ['clientAuth'] },
  ];
}

/** The subject in openssl's -subj syntax: groups (O) first, then the user (CN). */
export function subject(spec: Pick<CertSpec, 'cn' | 'groups'>): string {
  const escape = (value: string) => value.replace(/[\\/,=+]/g, (c) => `\\${c}`);
  return [...(spec.groups ?? []).map((g) => `/O=${escape(g)}`), `/CN=${escape(spec.cn)}`].join('');
}

/** The X.509 v3 extensions of a leaf certificate, as an openssl extension file. */
export function extensions(spec: CertSpec): string {
  const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${spec.usage.join(',')}`];
  const alt = [...(spec.ips ?? []).map((ip) => `IP:${ip}`), ...(spec.dns ?? []).map((d) => `DNS:${d}`)];
  if (alt.length > 0) lines.push(`subjectAltName=${alt.join(',')}`);
  return `${lines.join('\n')}\n`;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await exec('openssl', args);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is missing: install it (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'];

/** Writes the CAs, every certificate of certSpecs() and the service-account key pair (sa.key, sa.pub) into l.pkiDir. */
export async function writePki(l: Layout): Promise<void> {
  const dir = l.pkiDir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (file: string) => path.join(dir, file);
  for (const [ca, cn] of [['ca', 'rollcall-ca'], ['etcd-ca', 'rollcall-etcd-ca']] as const) {
    await openssl(['req', '-x509', ...EC_KEY, '-keyout', p(`${ca}.key`), '-out', p(`${ca}.crt`), '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  }
  for (const spec of certSpecs(l)) {
    await writeFile(p(`${spec.file}.ext`), extensions(spec));
    await openssl(['req', '-new', ...EC_KEY, '-keyout', p(`${spec.file}.key`), '-out', p(`${spec.file}.csr`), '-subj', subject(spec)]);
    await openssl(['x509', '-req', '-in', p(`${spec.file}.csr`), '-CA', p(`${spec.ca}.crt`), '-CAkey', p(`${spec.ca}.key`),
      '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '365', '-sha256', '-extfile', p(`${spec.file}.ext`), '-out', p(`${spec.file}.crt`)]);
  }
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('sa.key')]);
  await openssl(['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
}

export interface ClientCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** The PEM texts of a client certificate of the cluster CA (e.g. 'admin', 'node'), for an HTTPS client. */
export async function clientCredentials(l: Layout, file: string): Promise<ClientCredentials> {
  const read = (name: string) => readFile(path.join(l.pkiDir, name), 'utf8');
  return { ca: await read('ca.crt'), cert: await read(`${file}.crt`), key: await read(`${file}.key`) };
}
