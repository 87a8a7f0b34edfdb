/**
 * The application closure of tagged objects: from what carries
 * `lifeboat.dev/backup: "true"`, everything the application needs to come
 * back. A pure function over listed objects, so it is the same on a live
 * cluster and in a test.
 *
 *  - a Pod, ReplicaSet or Job brings the workload that controls it, up the
 *    ownerReferences (Pod → ReplicaSet → Deployment, Job → CronJob);
 *  - a workload (or bare Pod) brings the ConfigMaps, Secrets,
 *    ServiceAccount and PVCs its pod template names, a StatefulSet the PVCs
 *    made from its volumeClaimTemplates, and the Services whose selector
 *    picks its pods; it also brings the Pods and ReplicaSets it controls,
 *    which are not stored (the controller rebuilds them) but are where its
 *    hooks run and its volumes are mounted;
 *  - a Service brings the Ingresses routing to it, an Ingress its TLS
 *    Secrets, a ServiceAccount its image pull Secrets and the RoleBindings
 *    that grant it rights, a RoleBinding its Role;
 *  - a Namespace brings everything in it;
 *  - anything else tagged brings itself.
 *
 * An excluded object (`"false"`, the Velero exclude label, in a `"false"`
 * Namespace) is never entered, so nothing comes through it either.
 */
import type { KObject } from '../kube/types';
import { mapSelects } from './labelSelector';
import { TAG_ANNOTATION } from './types';

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** "apps/Deployment", "/Pod": a kind with its group, since kinds repeat across groups. */
export function groupKind(obj: Pick<KObject, 'apiVersion' | 'kind'>): string {
  return `${groupOf(obj.apiVersion)}/${obj.kind}`;
}

export function isTagged(obj: KObject): boolean {
  return obj.metadata.annotations?.[TAG_ANNOTATION] === 'true';
}

export function isTaggedFalse(obj: KObject): boolean {
  return obj.metadata.annotations?.[TAG_ANNOTATION] === 'false';
}

/** The pod template of a workload, or a bare Pod's own metadata and spec. */
export function podTemplateOf(obj: KObject): { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } | undefined {
  switch (groupKind(obj)) {
    case '/Pod':
      return { metadata: obj.metadata, spec: obj.spec };
    case 'apps/Deployment':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
    case 'apps/ReplicaSet':
    case 'batch/Job':
    case '/ReplicationController':
      return obj.spec?.template;
    case 'batch/CronJob':
      return obj.spec?.jobTemplate?.spec?.template;
    default:
      return undefined;
  }
}

interface Named {
  name?: string;
  optional?: boolean;
}

interface Container {
  env?: { valueFrom?: { configMapKeyRef?: Named; secretKeyRef?: Named } }[];
  envFrom?: { configMapRef?: Named; secretRef?: Named }[];
}

interface Volume {
  name: string;
  configMap?: Named;
  secret?: { secretName?: string };
  persistentVolumeClaim?: { claimName?: string };
  projected?: { sources?: { configMap?: Named; secret?: Named }[] };
}

export interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  imagePullSecrets?: Named[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
}

/** What a pod spec names, by kind: the objects it cannot run without. */
export interface PodSpecReferences {
  configMaps: string[];
  secrets: string[];
  serviceAccount?: string;
  claims: string[];
}

export function podSpecReferences(spec: PodSpec | undefined): PodSpecReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const claims = new Set<string>();
  const add = (set: Set<string>, name: string | undefined): void => {
    if (name) set.add(name);
  };
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      add(configMaps, e.valueFrom?.configMapKeyRef?.name);
      add(secrets, e.valueFrom?.secretKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(configMaps, e.configMapRef?.name);
      add(secrets, e.secretRef?.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    add(configMaps, v.configMap?.name);
    add(secrets, v.secret?.secretName);
    add(claims, v.persistentVolumeClaim?.claimName);
    for (const s of v.projected?.sources ?? []) {
      add(configMaps, s.configMap?.name);
      add(secrets, s.secret?.name);
    }
  }
  for (const p of spec?.imagePullSecrets ?? []) add(secrets, p.name);
  // An unset service account means "default", which every namespace gets anew; only a named one is part of the application.
  const serviceAccount = spec?.serviceAccountName ?? spec?.serviceAccount;
  return { configMaps: [...configMaps], secrets: [...secrets], serviceAccount, claims: [...claims] };
}

/** The Services an Ingress routes to, and the TLS Secrets it serves with. */
function ingressReferences(ing: KObject): { services: string[]; secrets: string[] } {
  const services = new Set<string>();
  const add = (name: unknown): void => {
    if (typeof name === 'string' && name) services.add(name);
  };
  add(ing.spec?.defaultBackend?.service?.name);
  for (const rule of ing.spec?.rules ?? []) for (const p of rule?.http?.paths ?? []) add(p?.backend?.service?.name);
  const secrets = (ing.spec?.tls ?? []).map((t: { secretName?: string }) => t.secretName).filter((s: unknown): s is string => typeof s === 'string' && s !== '');
  return { services: [...services], secrets };
}

/** Kinds a workload creates: tagging one means the workload that made it. */
const MADE_BY_WORKLOADS = new Set(['/Pod', 'apps/ReplicaSet', 'batch/Job']);
/** Controlled objects a captured controller brings along (not to store them: to find their hooks and volumes). */
const REBUILT_CHILDREN = new Set(['/Pod', 'apps/ReplicaSet']);

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Objects by namespace, kind and name, and by uid. */
class ObjectIndex {
  private readonly byName = new Map<string, KObject>();
  private readonly byUid = new Map<string, KObject>();
  private readonly byNamespace = new Map<string, KObject[]>();
  private readonly byNamespaceKind = new Map<string, KObject[]>();
  private readonly children = new Map<string, KObject[]>();

  constructor(objects: KObject[]) {
    for (const o of objects) {
      const ns = o.metadata.namespace ?? '';
      this.byName.set(`${ns}/${groupKind(o)}/${o.metadata.name}`, o);
      if (o.metadata.uid) this.byUid.set(o.metadata.uid, o);
      if (ns) {
        push(this.byNamespace, ns, o);
        push(this.byNamespaceKind, `${ns}/${groupKind(o)}`, o);
      }
      for (const ref of o.metadata.ownerReferences ?? []) if (ref.controller) push(this.children, ref.uid, o);
    }
  }

  get(namespace: string, gk: string, name: string): KObject | undefined {
    return this.byName.get(`${namespace}/${gk}/${name}`);
  }

  inNamespace(namespace: string): KObject[] {
    return this.byNamespace.get(namespace) ?? [];
  }

  ofKind(namespace: string, gk: string): KObject[] {
    return this.byNamespaceKind.get(`${namespace}/${gk}`) ?? [];
  }

  private servicesByPair?: Map<string, KObject[]>;
  private ingressesByService?: Map<string, KObject[]>;

  /**
   * Services whose selector picks these labels. Each Service is filed under
   * one pair of its selector, so a lookup tries only the Services sharing a
   * pair with the labels instead of every Service in the namespace.
   */
  servicesSelecting(namespace: string, labels: Record<string, string> | undefined): KObject[] {
    if (!this.servicesByPair) {
      this.servicesByPair = new Map();
      for (const [key, list] of this.byNamespaceKind) {
        if (!key.endsWith('//Service')) continue;
        for (const svc of list) {
          const first = Object.entries((svc.spec?.selector ?? {}) as Record<string, string>).sort()[0];
          if (first) push(this.servicesByPair, `${svc.metadata.namespace}\0${first[0]}\0${first[1]}`, svc);
        }
      }
    }
    const out: KObject[] = [];
    for (const [k, v] of Object.entries(labels ?? {})) {
      for (const svc of this.servicesByPair.get(`${namespace}\0${k}\0${v}`) ?? []) if (mapSelects(svc.spec?.selector, labels)) out.push(svc);
    }
    return out;
  }

  ingressesRouting(namespace: string, service: string): KObject[] {
    if (!this.ingressesByService) {
      this.ingressesByService = new Map();
      for (const [key, list] of this.byNamespaceKind) {
        if (!key.endsWith('/networking.k8s.io/Ingress')) continue;
        for (const ing of list) for (const name of ingressReferences(ing).services) push(this.ingressesByService, `${ing.metadata.namespace}/${name}`, ing);
      }
    }
    return this.ingressesByService.get(`${namespace}/${service}`) ?? [];
  }

  /** The objects this one lists as owners, found by uid in the same namespace (owners never cross namespaces). */
  owners(obj: KObject): KObject[] {
    const refs = obj.metadata.ownerReferences ?? [];
    return refs.map((r) => this.byUid.get(r.uid)).filter((o): o is KObject => o !== undefined && o.metadata.namespace === obj.metadata.namespace);
  }

  controlled(obj: KObject): KObject[] {
    return obj.metadata.uid ? (this.children.get(obj.metadata.uid) ?? []) : [];
  }
}

export interface ClosureOptions {
  /** Where the closure starts; default: objects tagged `"true"`. */
  isRoot?: (obj: KObject) => boolean;
  /** Never taken, and nothing is reached through them. */
  isExcluded?: (obj: KObject) => boolean;
}

/**
 * The tagged objects among `objects` and everything their application
 * needs, as far as `objects` holds it (a name that is not there, say a
 * Secret the user may not read, is passed over). Order follows discovery;
 * callers sort.
 */
export function applicationClosure(objects: KObject[], options: ClosureOptions = {}): KObject[] {
  const isRoot = options.isRoot ?? isTagged;
  const isExcluded = options.isExcluded ?? (() => false);
  const index = new ObjectIndex(objects);
  const taken = new Set<KObject>();
  const queue: KObject[] = [];
  const take = (o: KObject | undefined): void => {
    if (!o || taken.has(o) || isExcluded(o)) return;
    taken.add(o);
    queue.push(o);
  };
  // A controller's pods and replica sets are taken to find hooks and mounts, not expanded: what they
  // need is what the controller's template names (admission may have added more, such as a token volume).
  const takeChild = (o: KObject): void => {
    if (taken.has(o) || isExcluded(o)) return;
    taken.add(o);
  };
  for (const o of objects) if (isRoot(o)) take(o);

  for (let next = 0; next < queue.length; next++) {
    const o = queue[next];
    const ns = o.metadata.namespace ?? '';
    const gk = groupKind(o);

    if (gk === '/Namespace') {
      for (const member of index.inNamespace(o.metadata.name)) take(member);
      continue;
    }
    if (MADE_BY_WORKLOADS.has(gk)) for (const owner of index.owners(o)) take(owner);

    const template = podTemplateOf(o);
    if (template) {
      const refs = podSpecReferences(template.spec);
      for (const name of refs.configMaps) take(index.get(ns, '/ConfigMap', name));
      for (const name of refs.secrets) take(index.get(ns, '/Secret', name));
      for (const name of refs.claims) take(index.get(ns, '/PersistentVolumeClaim', name));
      // Every namespace gets its own "default" account from the cluster, and admission writes it into every pod.
      if (refs.serviceAccount && refs.serviceAccount !== 'default') take(index.get(ns, '/ServiceAccount', refs.serviceAccount));
      const labels = template.metadata?.labels;
      for (const svc of index.servicesSelecting(ns, labels)) take(svc);
      for (const child of index.controlled(o)) {
        if (!REBUILT_CHILDREN.has(groupKind(child))) continue;
        takeChild(child);
        // A Deployment's pods hang off its ReplicaSets.
        for (const grandchild of index.controlled(child)) if (groupKind(grandchild) === '/Pod') takeChild(grandchild);
      }
    }

    switch (gk) {
      case 'apps/StatefulSet': {
        // Claims made from a template are named <template>-<statefulset>-<ordinal>; take the ones that exist.
        for (const t of o.spec?.volumeClaimTemplates ?? []) {
          const prefix = `${t?.metadata?.name}-${o.metadata.name}-`;
          for (const pvc of index.ofKind(ns, '/PersistentVolumeClaim')) {
            const name = pvc.metadata.name;
            if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) take(pvc);
          }
        }
        break;
      }
      case '/Service':
        for (const ing of index.ingressesRouting(ns, o.metadata.name)) take(ing);
        break;
      case 'networking.k8s.io/Ingress':
        for (const name of ingressReferences(o).secrets) take(index.get(ns, '/Secret', name));
        break;
      case '/ServiceAccount':
        for (const p of o.imagePullSecrets ?? []) take(index.get(ns, '/Secret', p?.name));
        for (const rb of index.ofKind(ns, 'rbac.authorization.k8s.io/RoleBinding')) if (bindsServiceAccount(rb, ns, o.metadata.name)) take(rb);
        break;
      case 'rbac.authorization.k8s.io/RoleBinding':
        if (o.roleRef?.kind === 'Role') take(index.get(ns, 'rbac.authorization.k8s.io/Role', o.roleRef.name));
        break;
    }
  }
  return objects.filter((o) => taken.has(o));
}

/** Whether a (Cluster)RoleBinding names this ServiceAccount among its subjects (a RoleBinding's subject may omit its own namespace). */
export function bindsServiceAccount(binding: KObject, namespace: string, name: string): boolean {
  const bindingNs = binding.metadata.namespace;
  return (binding.subjects ?? []).some(
    (s: { kind?: string; name?: string; namespace?: string }) => s?.kind === 'ServiceAccount' && s.name === name && (s.namespace ?? bindingNs) === namespace,
  );
}
