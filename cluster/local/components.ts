// The command line of each control plane component: upstream's own flags, chosen as kubeadm sets them for a
// single-node control plane (kubernetes `cmd/kubeadm/app/phases/controlplane/manifests.go` getAPIServerCommand,
// getControllerManagerCommand, getSchedulerCommand; `cmd/kubeadm/app/phases/etcd/local.go` getEtcdCommand), with the
// differences said where they are.
import path from 'node:path';
import { stringify } from 'yaml';
import type { Layout } from './layout.ts';

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy';

/** Start order; stop runs it backwards. */
export const COMPONENTS: ComponentName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'];

export type ProxyMode = 'nftables' | 'iptables';

export function componentArgs(l: Layout, component: ComponentName): string[] {
  const pki = (file: string) => path.join(l.pkiDir, file);
  const local = (port: number) => `127.0.0.1:${port}`;
  switch (component) {
    case 'etcd':
      return [
        '--name=default',
        `--data-dir=${l.etcdDataDir}`,
        // Clients (the API server alone) over TLS with client certificates of etcd's own CA, on the namespace's
        // loopback; the single member's peer URL is never dialled by anyone else, so it stays plain on loopback.
        `--listen-client-urls=https://${local(l.ports.etcdClient)}`,
        `--advertise-client-urls=https://${local(l.ports.etcdClient)}`,
        `--listen-peer-urls=http://${local(l.ports.etcdPeer)}`,
        `--initial-advertise-peer-urls=http://${local(l.ports.etcdPeer)}`,
        `--initial-cluster=default=http://${local(l.ports.etcdPeer)}`,
        '--initial-cluster-state=new',
        `--cert-file=${pki('etcd-server.crt')}`,
        `--key-file=${pki('etcd-server.key')}`,
        `--trusted-ca-file=${pki('etcd-ca.crt')}`,
        '--client-cert-auth=true',
        // Plain /health and /metrics, as kubeadm's --listen-metrics-urls, on the advertise address so the host can poll it.
        `--listen-metrics-urls=http://${l.address}:${l.ports.etcdMetrics}`,
      ];
    case 'kube-apiserver':
      return [
        `--advertise-address=${l.address}`,
        '--bind-address=0.0.0.0',
        `--secure-port=${l.ports.apiserver}`,
        `--etcd-servers=https://${local(l.ports.etcdClient)}`,
        `--etcd-cafile=${pki('etcd-ca.crt')}`,
        `--etcd-certfile=${pki('apiserver-etcd-client.crt')}`,
        `--etcd-keyfile=${pki('apiserver-etcd-client.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        '--authorization-mode=Node,RBAC',
        // The default admission plugins (PodSecurity, ServiceAccount, NamespaceLifecycle, LimitRanger, ResourceQuota,
        // DefaultStorageClass, StorageObjectInUseProtection, the webhooks, ...: kubernetes `pkg/kubeapiserver/options/
        // plugins.go` DefaultOffAdmissionPlugins lists the ones that stay off) plus NodeRestriction, as kubeadm enables it.
        '--enable-admission-plugins=NodeRestriction',
        '--allow-privileged=true',
        `--service-cluster-ip-range=${l.serviceCidr}`,
        `--service-account-issuer=https://kubernetes.default.svc.${l.clusterDomain}`,
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        // No kubelet serves on the node (the node agent has no kubelet API), so no --kubelet-client-certificate: logs,
        // exec and port-forward answer an error. No aggregation layer (--requestheader-*, front-proxy): no
        // aggregated API server runs here.
      ];
    case 'kube-controller-manager':
      return [
        `--kubeconfig=${l.kubeconfigs.controllerManager}`,
        `--authentication-kubeconfig=${l.kubeconfigs.controllerManager}`,
        `--authorization-kubeconfig=${l.kubeconfigs.controllerManager}`,
        '--bind-address=0.0.0.0',
        `--secure-port=${l.ports.controllerManager}`,
        // Every controller on by default (statefulset, job, endpointslice, persistentvolume-binder, garbage-collector,
        // namespace, serviceaccount, serviceaccount-token, root-ca-certificate-publisher, pvc-protection,
        // pv-protection, node-lifecycle, ...: kubernetes `cmd/kube-controller-manager/app/controller_descriptor.go`
        // and each descriptor's isDisabledByDefault). Not node-ipam: the node agent gives pods their addresses.
        '--controllers=*',
        '--use-service-account-credentials=true',
        `--root-ca-file=${pki('ca.crt')}`,
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        `--cluster-name=${l.name}`,
        `--service-cluster-ip-range=${l.serviceCidr}`,
        // One instance per control plane: no Lease to wait for after an unclean stop (kubeadm leaves it on).
        '--leader-elect=false',
      ];
    case 'kube-scheduler':
      return [
        `--kubeconfig=${l.kubeconfigs.scheduler}`,
        `--authentication-kubeconfig=${l.kubeconfigs.scheduler}`,
        `--authorization-kubeconfig=${l.kubeconfigs.scheduler}`,
        '--bind-address=0.0.0.0',
        `--secure-port=${l.ports.scheduler}`,
        '--leader-elect=false',
      ];
    case 'kube-proxy':
      return [`--config=${l.kubeProxyConfig}`];
  }
}

/**
 * kube-proxy's configuration file (kube-proxy.config.k8s.io/v1alpha1 KubeProxyConfiguration: k8s.io/kube-proxy
 * `config/v1alpha1/types.go`). The conntrack settings are zero so kube-proxy leaves the kernel's conntrack sysctls
 * alone: several of them are global rather than per namespace, and kube-proxy must not change the host's.
 */
export function kubeProxyConfig(l: Layout, mode: ProxyMode): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: l.kubeconfigs.kubeProxy },
    hostnameOverride: l.nodeName,
    bindAddress: l.address,
    healthzBindAddress: `${l.address}:${l.ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${l.ports.proxyMetrics}`,
    mode,
    clusterCIDR: l.podCidr,
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}
