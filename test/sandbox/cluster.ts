import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApiServer, type ApiServer } from './apiserver/server';
import type { KObject, ObjectApi, ResourceKey } from './contract';
import { HOSTPATH_DRIVER, HostDirs, snapshotClass, startControllers, type Controllers } from './controllers';
import { R, errorCode } from './controllers/resources';
import { createExecHandler } from './exec';
import { createPki } from './pki';

export interface ClusterOptions {
  /** Short name (prod, dev): nodes are sandbox-NAME-node-N. */
  name: string;
  /** In-memory objects (default), or an etcd endpoint to keep them in. */
  storage?: 'memory' | { etcd: string; prefix?: string };
  /** Where volume data lives; a temporary directory (removed on stop) by default. */
  dataDir?: string;
  /** Node names; default two nodes. */
  nodes?: string[];
  /** Loopback port; a free one by default. */
  port?: number;
  log?: (message: string) => void;
}

export interface Cluster {
  readonly name: string;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** PEM of the CA that signed the server certificate. */
  readonly caCert: string;
  /** Bearer tokens: admin may do everything, restricted may read everything but Secrets. */
  readonly tokens: { admin: string; restricted: string };
  /** In-process access to the cluster's objects (no authentication). */
  readonly api: ObjectApi;
  readonly dataDir: string;
  /**
   * The host directory holding a bound claim's volume data (what a pod
   * mounting it sees), or undefined while the claim is unbound; lets a test
   * compare volume bytes without going through exec.
   */
  claimDir(namespace: string, claim: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * One sandbox cluster: the API server over HTTPS on loopback, the
 * simulated controllers and kubelets, pod exec through bubblewrap, the
 * default StorageClass, CSI driver and snapshot class, and Ready nodes.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), `lifeboat-sandbox-${options.name}-`)));
  await mkdir(dataDir, { recursive: true });
  const tokens = { admin: randomBytes(24).toString('base64url'), restricted: randomBytes(24).toString('base64url') };
  const pki = createPki(['127.0.0.1', 'localhost']);
  let server: ApiServer | undefined;
  let controllers: Controllers | undefined;
  let exec: ReturnType<typeof createExecHandler> | undefined;
  const stop = async (): Promise<void> => {
    controllers?.stop();
    exec?.close();
    await server?.close();
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const storage = options.storage ?? 'memory';
    server = await startApiServer({
      name: options.name,
      storage: storage === 'memory' ? 'memory' : { etcd: storage.etcd, prefix: storage.prefix ?? `/lifeboat-sandbox/${options.name}/registry` },
      tls: { cert: pki.serverCert, key: pki.serverKey },
      tokens: {
        [tokens.admin]: { user: 'admin', groups: ['system:masters', 'system:authenticated'] },
        [tokens.restricted]: { user: 'restricted', groups: ['system:authenticated'] },
      },
      host: '127.0.0.1',
      port: options.port ?? 0,
    });
    const api = server.api;
    const dirs = new HostDirs(dataDir);
    exec = createExecHandler({ api, dirs, log: options.log });
    server.setExecHandler(exec);
    await bootstrap(api, options.name, options.nodes ?? [`sandbox-${options.name}-node-1`, `sandbox-${options.name}-node-2`]);
    controllers = startControllers(api, { caCert: pki.caCert, dataDir, log: options.log });
    const claimDir = async (namespace: string, claim: string): Promise<string | undefined> => {
      const pvc = await api.get(R.pvcs, namespace, claim);
      if (pvc?.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return undefined;
      const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
      return pv ? dirs.ofPersistentVolume(pv) : undefined;
    };
    return { name: options.name, url: server.url, caCert: pki.caCert, tokens, api, dataDir, claimDir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function ensure(api: ObjectApi, key: ResourceKey, obj: KObject): Promise<KObject | undefined> {
  try {
    return await api.create(key, obj);
  } catch (err) {
    if (errorCode(err) === 409) return api.get(key, obj.metadata.namespace, obj.metadata.name);
    throw err;
  }
}

/** Cluster-level objects a freshly installed cluster with a CSI host-path driver has. */
async function bootstrap(api: ObjectApi, cluster: string, nodeNames: string[]): Promise<void> {
  for (const [i, name] of nodeNames.entries()) {
    const node = nodeObject(name, i);
    const stored = await ensure(api, R.nodes, { ...node, status: undefined });
    if (stored && !stored.status?.conditions?.length) await api.updateStatus(R.nodes, { ...stored, status: node.status });
    // The kubelet's heartbeat lease, which kubectl describe node reads.
    try {
      await ensure(api, { group: 'coordination.k8s.io', resource: 'leases' }, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: 'kube-node-lease', ownerReferences: stored?.metadata.uid ? [{ apiVersion: 'v1', kind: 'Node', name, uid: stored.metadata.uid }] : undefined },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') },
      });
    } catch (err) {
      if (errorCode(err) !== 404) throw err;
    }
  }
  await ensure(api, R.storageclasses, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: HOSTPATH_DRIVER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  });
  try {
    await ensure(api, R.csidrivers, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: HOSTPATH_DRIVER, labels: { 'app.kubernetes.io/instance': HOSTPATH_DRIVER, 'app.kubernetes.io/part-of': 'lifeboat-sandbox' } },
      spec: { attachRequired: false, podInfoOnMount: true, fsGroupPolicy: 'File', volumeLifecycleModes: ['Persistent'], storageCapacity: false, requiresRepublish: false, seLinuxMount: false },
    });
  } catch (err) {
    if (errorCode(err) !== 404) throw err;
  }
  for (const [key, obj] of systemAddons()) await ensure(api, key, obj);
  // The API server installs the snapshot CRDs at start; their kinds are served a moment later.
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await ensure(api, R.volumesnapshotclasses, snapshotClass());
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`sandbox cluster ${cluster}: the VolumeSnapshotClass CRD was not served within 15s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** kube-system as a kubeadm-style cluster has it: CoreDNS and kube-proxy. */
function systemAddons(): [ResourceKey, KObject][] {
  const ns = 'kube-system';
  const corefile = '.:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n';
  const critical = [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' }];
  return [
    [R.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: ns } }],
    [R.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kube-proxy', namespace: ns } }],
    [R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: ns }, data: { Corefile: corefile } }],
    [
      R.configmaps,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-proxy', namespace: ns, labels: { app: 'kube-proxy' } },
        data: { 'config.conf': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.244.0.0/16\nmode: iptables\n' },
      },
    ],
    [
      R.deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: ns, labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: { labels: { 'k8s-app': 'kube-dns' } },
            spec: {
              priorityClassName: 'system-cluster-critical',
              serviceAccountName: 'coredns',
              tolerations: critical,
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              containers: [
                {
                  name: 'coredns',
                  image: 'registry.k8s.io/coredns/coredns:v1.11.3',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                    { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                  ],
                  resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
                  volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
            },
          },
        },
      },
    ],
    [
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: ns, labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }, annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' } },
        spec: {
          clusterIP: '10.96.0.10',
          selector: { 'k8s-app': 'kube-dns' },
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
            { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
          ],
        },
      },
    ],
    [
      R.daemonsets,
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'kube-proxy', namespace: ns, labels: { 'k8s-app': 'kube-proxy' } },
        spec: {
          selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
          template: {
            metadata: { labels: { 'k8s-app': 'kube-proxy' } },
            spec: {
              priorityClassName: 'system-node-critical',
              serviceAccountName: 'kube-proxy',
              hostNetwork: true,
              tolerations: [{ operator: 'Exists' }],
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              containers: [
                {
                  name: 'kube-proxy',
                  image: 'registry.k8s.io/kube-proxy:v1.32.0',
                  command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
                  env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
                  securityContext: { privileged: true },
                  volumeMounts: [{ name: 'kube-proxy', mountPath: '/var/lib/kube-proxy' }],
                },
              ],
              volumes: [{ name: 'kube-proxy', configMap: { name: 'kube-proxy' } }],
            },
          },
        },
      },
    ],
  ];
}

function nodeObject(name: string, index: number): KObject {
  const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const capacity = { cpu: '4', 'ephemeral-storage': '102626232Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '16375432Ki', pods: '110' };
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: ts, lastTransitionTime: ts });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
      },
      annotations: {
        'csi.volume.kubernetes.io/nodeid': JSON.stringify({ [HOSTPATH_DRIVER]: name }),
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: `10.244.${index + 1}.0/24`, podCIDRs: [`10.244.${index + 1}.0/24`], providerID: `sandbox://${name}` },
    status: {
      capacity,
      allocatable: { ...capacity, cpu: '4', memory: '16273032Ki' },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `172.18.0.${index + 2}` },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: randomUUID(),
        containerRuntimeVersion: 'containerd://1.7.24',
        kernelVersion: os.release(),
        kubeProxyVersion: 'v1.32.0',
        kubeletVersion: 'v1.32.0',
        machineID: randomBytes(16).toString('hex'),
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        systemUUID: randomUUID(),
      },
    },
  };
}
