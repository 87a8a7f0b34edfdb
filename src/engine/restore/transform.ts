/**
 * A restore profile applied to one object: where it lands (namespace
 * mapping, and every reference to a namespace that moves with it), which
 * storage and ingress classes and registries it uses there, how many
 * replicas it runs, what its Secrets hold, where its pods may schedule, how
 * its Services are exposed, and the profile's own patches last.
 *
 * Rules match the SOURCE object (names as the user knows them from the
 * snapshot); the changes apply to the sanitised object. Notes describe each
 * change in words for the plan; Secret values never appear in them.
 */
import { randomBytes } from 'node:crypto';
import type { KObject } from '../kube/types';
import { groupKind } from '../capture/closure';
import { globMatch } from '../capture/scope';
import { matchesRule } from './match';
import { applyJsonPatch, applyMergePatch, JsonPatchTestFailed } from './patch';
import { MASKED_SECRET_ANNOTATION, type RestoreProfile, type SecretMode } from './types';

/** What the transform may read from the target: Secrets to take values from, and placeholders made on an earlier run. */
export interface TransformEnv {
  getTarget(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<KObject | undefined>;
}

export interface TransformResult {
  /** The object to restore; absent when dropped. */
  object?: KObject;
  /** Why the object is not restored (a Secret under mode skip). */
  dropped?: string;
  notes: string[];
  warnings: string[];
}

/**
 * Annotation key prefixes (and whole keys) of cloud providers' controllers:
 * load balancers, IAM roles bound to ServiceAccounts, NEGs, static IPs, DNS
 * records. On another cluster they would make the target's controllers act
 * on the source's cloud resources (or fail trying), so `dropCloudAnnotations`
 * removes them from objects and pod templates.
 */
export const CLOUD_ANNOTATION_PREFIXES: readonly string[] = [
  'service.beta.kubernetes.io/aws-load-balancer-',
  'service.beta.kubernetes.io/azure-',
  'service.beta.kubernetes.io/oci-load-balancer-',
  'service.beta.kubernetes.io/do-loadbalancer-',
  'service.kubernetes.io/ibm-load-balancer-cloud-provider-',
  'oci.oraclecloud.com/',
  'cloud.google.com/',
  'networking.gke.io/',
  'ingress.gcp.kubernetes.io/',
  'kubernetes.io/ingress.global-static-ip-name',
  'eks.amazonaws.com/',
  'iam.gke.io/',
  'azure.workload.identity/',
  'alb.ingress.kubernetes.io/',
  'appgw.ingress.kubernetes.io/',
  'external-dns.alpha.kubernetes.io/',
];

const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
const STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';
/** Set by the API server on every Namespace; it follows the name. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The target namespace of a source namespace (itself when not mapped). */
export function mapNamespace(profile: RestoreProfile, ns: string | undefined): string | undefined {
  if (ns === undefined) return undefined;
  return profile.namespaceMapping?.[ns] ?? ns;
}

const describeObject = (o: KObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

// ---------------------------------------------------------------------------
// Pod specs

interface PodPlace {
  spec: Record<string, any>;
  /** The template's metadata (absent for a Pod, whose metadata is the object's). */
  meta?: Record<string, any>;
}

/** The pod specs an object carries: a Pod's own, a workload's template, a CronJob's job template's, a PodTemplate's. Found by shape, so custom workloads with a `spec.template` are covered too. */
function podPlaces(o: KObject): PodPlace[] {
  const places: PodPlace[] = [];
  const add = (template: any) => {
    if (template && typeof template === 'object' && template.spec && Array.isArray(template.spec.containers)) places.push({ spec: template.spec, meta: template.metadata });
  };
  const gk = groupKind(o);
  if (gk === '/Pod' && o.spec && Array.isArray(o.spec.containers)) places.push({ spec: o.spec });
  else if (gk === '/PodTemplate') add(o.template);
  else if (gk === 'batch/CronJob') add(o.spec?.jobTemplate?.spec?.template);
  else add(o.spec?.template);
  return places;
}

/** Every container of a pod spec: init, regular and ephemeral. */
function containersOf(spec: Record<string, any>): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of (spec[list] as unknown[] | undefined) ?? []) if (c && typeof c === 'object') out.push(c as Record<string, any>);
  }
  return out;
}

/** A Docker Hub reference written short ("nginx:1.27", "bitnami/redis") in full, so a "docker.io/" prefix rule reaches it. */
function fullImageName(image: string): string {
  const first = image.split('/')[0];
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return image;
  return image.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`;
}

/** The image with the longest matching prefix replaced, or undefined when no prefix matches. */
export function mapImage(image: string, mapping: Record<string, string> | undefined): string | undefined {
  if (!mapping) return undefined;
  let best: { prefix: string; image: string } | undefined;
  for (const candidate of new Set([image, fullImageName(image)])) {
    for (const [prefix, replacement] of Object.entries(mapping)) {
      if (prefix !== '' && candidate.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) {
        best = { prefix, image: replacement + candidate.slice(prefix.length) };
      }
    }
  }
  return best?.image;
}

// ---------------------------------------------------------------------------
// Steps, each changing the object in place and saying what it changed

type Notes = string[];

/** A namespace name inside a label selector's `kubernetes.io/metadata.name` term (NetworkPolicy peers, webhooks). */
function mapSelectorNamespaces(selector: any, map: (ns: string) => string): void {
  if (!selector || typeof selector !== 'object') return;
  const labels = selector.matchLabels;
  if (labels && typeof labels[NAMESPACE_NAME_LABEL] === 'string') labels[NAMESPACE_NAME_LABEL] = map(labels[NAMESPACE_NAME_LABEL]);
  for (const e of selector.matchExpressions ?? []) {
    if (e?.key === NAMESPACE_NAME_LABEL && Array.isArray(e.values)) e.values = e.values.map((v: unknown) => (typeof v === 'string' ? map(v) : v));
  }
}

/** Pod (anti-)affinity terms name namespaces: the pods they look for moved too. */
function mapAffinityNamespaces(spec: Record<string, any>, map: (ns: string) => string): void {
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = spec.affinity?.[kind];
    if (!a) continue;
    const terms = [...(a.requiredDuringSchedulingIgnoredDuringExecution ?? []), ...(a.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w: any) => w?.podAffinityTerm)];
    for (const t of terms) {
      if (t && Array.isArray(t.namespaces)) t.namespaces = t.namespaces.map((n: unknown) => (typeof n === 'string' ? map(n) : n));
      if (t) mapSelectorNamespaces(t.namespaceSelector, map);
    }
  }
}

/**
 * Moves the object to its target namespace and rewrites the references to
 * namespaces that moved with it: a Namespace's own name, ServiceAccount
 * subjects of role bindings, a PV's claim, a PVC's cross-namespace data
 * source, ExternalName aliases of in-cluster Services, webhook and
 * APIService backends, NetworkPolicy peers and pod affinity terms that
 * select namespaces by name.
 */
function mapNamespaces(o: KObject, profile: RestoreProfile, notes: Notes): void {
  const mapping = profile.namespaceMapping;
  if (!mapping || Object.keys(mapping).length === 0) return;
  const map = (ns: string) => mapping[ns] ?? ns;
  const meta = o.metadata;
  const gk = groupKind(o);
  if (meta.namespace !== undefined && map(meta.namespace) !== meta.namespace) {
    notes.push(`namespace ${meta.namespace} → ${map(meta.namespace)}`);
    meta.namespace = map(meta.namespace);
  }
  const spec = o.spec as Record<string, any> | undefined;
  switch (gk) {
    case '/Namespace':
      if (map(meta.name) !== meta.name) {
        notes.push(`renamed ${meta.name} → ${map(meta.name)}`);
        meta.name = map(meta.name);
        if (meta.labels?.[NAMESPACE_NAME_LABEL] !== undefined) meta.labels[NAMESPACE_NAME_LABEL] = meta.name;
      }
      break;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      for (const s of (o.subjects as any[] | undefined) ?? []) {
        if (s?.kind === 'ServiceAccount' && typeof s.namespace === 'string' && map(s.namespace) !== s.namespace) {
          notes.push(`subject ServiceAccount ${s.namespace}/${s.name} → ${map(s.namespace)}/${s.name}`);
          s.namespace = map(s.namespace);
        }
      }
      break;
    case '/PersistentVolume':
      if (spec?.claimRef?.namespace) spec.claimRef.namespace = map(spec.claimRef.namespace);
      break;
    case '/PersistentVolumeClaim':
      if (spec?.dataSourceRef?.namespace) spec.dataSourceRef.namespace = map(spec.dataSourceRef.namespace);
      break;
    case '/Service': {
      // An ExternalName alias to a Service in a namespace that moved ("db.shop.svc.cluster.local") follows it.
      const m = typeof spec?.externalName === 'string' ? /^([^.]+)\.([^.]+)(\.svc(\.cluster\.local)?\.?)$/.exec(spec.externalName) : null;
      if (spec && m && map(m[2]) !== m[2]) {
        const renamed = `${m[1]}.${map(m[2])}${m[3]}`;
        notes.push(`externalName ${spec.externalName} → ${renamed}`);
        spec.externalName = renamed;
      }
      break;
    }
    case 'networking.k8s.io/NetworkPolicy':
      for (const rule of [...(spec?.ingress ?? []), ...(spec?.egress ?? [])]) {
        for (const peer of [...(rule?.from ?? []), ...(rule?.to ?? [])]) mapSelectorNamespaces(peer?.namespaceSelector, map);
      }
      break;
    case 'admissionregistration.k8s.io/ValidatingWebhookConfiguration':
    case 'admissionregistration.k8s.io/MutatingWebhookConfiguration':
      for (const w of (o.webhooks as any[] | undefined) ?? []) {
        const svc = w?.clientConfig?.service;
        if (svc?.namespace) svc.namespace = map(svc.namespace);
      }
      break;
    case 'apiregistration.k8s.io/APIService':
      if (spec?.service?.namespace) spec.service.namespace = map(spec.service.namespace);
      break;
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      const svc = spec?.conversion?.webhook?.clientConfig?.service;
      if (svc?.namespace) svc.namespace = map(svc.namespace);
      break;
    }
  }
  for (const place of podPlaces(o)) mapAffinityNamespaces(place.spec, map);
}

/** StorageClass names of PVCs, PVs and StatefulSet claim templates, in the field and in the beta annotation older clusters used. */
function mapStorageClasses(o: KObject, profile: RestoreProfile, notes: Notes): void {
  const mapping = profile.storageClassMapping;
  if (!mapping || Object.keys(mapping).length === 0) return;
  const gk = groupKind(o);
  const claims: { spec?: any; metadata?: any; label: string }[] = [];
  if (gk === '/PersistentVolumeClaim' || gk === '/PersistentVolume') claims.push({ spec: o.spec, metadata: o.metadata, label: '' });
  if (gk === 'apps/StatefulSet') {
    for (const t of (o.spec?.volumeClaimTemplates as any[] | undefined) ?? []) claims.push({ spec: t?.spec, metadata: t?.metadata, label: ` (claim template ${t?.metadata?.name})` });
  }
  for (const c of claims) {
    const current = c.spec?.storageClassName;
    if (typeof current === 'string' && mapping[current] !== undefined && mapping[current] !== current) {
      notes.push(`storage class ${current} → ${mapping[current]}${c.label}`);
      c.spec.storageClassName = mapping[current];
    }
    const annotations = c.metadata?.annotations;
    const annotated = annotations?.[STORAGE_CLASS_ANNOTATION];
    if (typeof annotated === 'string' && mapping[annotated] !== undefined) {
      if (annotated !== current) notes.push(`storage class ${annotated} → ${mapping[annotated]}${c.label}`);
      annotations[STORAGE_CLASS_ANNOTATION] = mapping[annotated];
    }
  }
}

/** An Ingress's class, in spec.ingressClassName and in the annotation older controllers read. */
function mapIngressClasses(o: KObject, profile: RestoreProfile, notes: Notes): void {
  const mapping = profile.ingressClassMapping;
  if (!mapping || Object.keys(mapping).length === 0 || o.kind !== 'Ingress') return;
  const current = o.spec?.ingressClassName;
  if (typeof current === 'string' && mapping[current] !== undefined && mapping[current] !== current) {
    notes.push(`ingress class ${current} → ${mapping[current]}`);
    o.spec.ingressClassName = mapping[current];
  }
  const annotations = o.metadata.annotations;
  const annotated = annotations?.[INGRESS_CLASS_ANNOTATION];
  if (annotations && typeof annotated === 'string' && mapping[annotated] !== undefined) {
    if (annotated !== current) notes.push(`ingress class ${annotated} → ${mapping[annotated]}`);
    annotations[INGRESS_CLASS_ANNOTATION] = mapping[annotated];
  }
}

function mapImages(o: KObject, profile: RestoreProfile, notes: Notes): void {
  if (!profile.imageRegistryMapping) return;
  for (const place of podPlaces(o)) {
    for (const container of containersOf(place.spec)) {
      if (typeof container.image !== 'string') continue;
      const mapped = mapImage(container.image, profile.imageRegistryMapping);
      if (mapped !== undefined && mapped !== container.image) {
        notes.push(`image ${container.image} → ${mapped} (container ${container.name})`);
        container.image = mapped;
      }
    }
  }
}

const SCALED_KINDS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet']);

function setReplicas(o: KObject, source: KObject, profile: RestoreProfile, notes: Notes): void {
  if (!profile.replicas || !SCALED_KINDS.has(groupKind(o))) return;
  const rule = profile.replicas.rules?.find((r) => matchesRule(r.match, source));
  const wanted = rule ? rule.replicas : profile.replicas.default;
  if (wanted === undefined) return;
  o.spec ??= {};
  // An absent count is 1 to the API server.
  const before = (o.spec.replicas as number | undefined) ?? 1;
  if (before !== wanted) notes.push(`replicas ${before} → ${wanted}`);
  o.spec.replicas = wanted;
}

function dropScheduling(o: KObject, profile: RestoreProfile, notes: Notes): void {
  const fields: [keyof RestoreProfile, string, string][] = [
    ['dropNodeSelectors', 'nodeSelector', 'node selector'],
    ['dropAffinity', 'affinity', 'affinity'],
    ['dropTolerations', 'tolerations', 'tolerations'],
  ];
  for (const place of podPlaces(o)) {
    for (const [flag, field, words] of fields) {
      if (profile[flag] && place.spec[field] !== undefined) {
        delete place.spec[field];
        notes.push(`${words} removed`);
      }
    }
  }
}

function isCloudAnnotation(key: string): boolean {
  return CLOUD_ANNOTATION_PREFIXES.some((p) => key.startsWith(p));
}

/** Cloud providers' annotations and the profile's `dropAnnotations`, from the object and its pod templates. */
function dropAnnotations(o: KObject, profile: RestoreProfile, notes: Notes): void {
  const globs = profile.dropAnnotations ?? [];
  if (!profile.dropCloudAnnotations && globs.length === 0) return;
  const drop = (key: string) => (profile.dropCloudAnnotations && isCloudAnnotation(key)) || globs.some((g) => globMatch(g, key));
  const maps: { meta: Record<string, any>; where: string }[] = [{ meta: o.metadata, where: '' }];
  for (const place of podPlaces(o)) if (place.meta) maps.push({ meta: place.meta, where: ' from the pod template' });
  for (const { meta, where } of maps) {
    const annotations = meta.annotations as Record<string, string> | undefined;
    if (!annotations) continue;
    const removed = Object.keys(annotations).filter(drop);
    for (const k of removed) delete annotations[k];
    if (removed.length > 0) notes.push(`annotation${removed.length > 1 ? 's' : ''} ${removed.join(', ')} removed${where}`);
    if (Object.keys(annotations).length === 0) delete meta.annotations;
  }
}

/** Fields of a Service that only some types allow, by the type that allows them. */
const LOAD_BALANCER_FIELDS = ['loadBalancerIP', 'loadBalancerSourceRanges', 'loadBalancerClass', 'allocateLoadBalancerNodePorts', 'healthCheckNodePort'];
const NODE_PORT_FIELDS = ['externalTrafficPolicy'];

function changeServiceType(o: KObject, profile: RestoreProfile, notes: Notes): void {
  if (!profile.serviceTypes || groupKind(o) !== '/Service' || !o.spec) return;
  const spec = o.spec as Record<string, any>;
  const type: string = spec.type ?? 'ClusterIP';
  const wanted = profile.serviceTypes[type];
  if (!wanted || wanted === type) return;
  spec.type = wanted;
  notes.push(`Service type ${type} → ${wanted}`);
  if (wanted !== 'LoadBalancer') for (const f of LOAD_BALANCER_FIELDS) delete spec[f];
  if (wanted === 'ClusterIP') {
    for (const f of NODE_PORT_FIELDS) delete spec[f];
    for (const port of (spec.ports as any[] | undefined) ?? []) if (port) delete port.nodePort;
  }
}

// ---------------------------------------------------------------------------
// Secrets

/** The mode and value source for a Secret: the first matching rule, else the profile's default (copy). */
function secretModeOf(source: KObject, profile: RestoreProfile): { mode: SecretMode; from?: { name: string; namespace?: string } } {
  const s = profile.secrets;
  const rule = s?.rules?.find((r) => matchesRule(r.match, source));
  if (rule) return { mode: rule.mode, from: rule.from ?? s?.from };
  return { mode: s?.mode ?? 'copy', from: s?.from };
}

/** Printable, so an application reading the value from an environment variable or a file gets text it can use. */
const PLACEHOLDER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 % 62 ≠ 0 gives a slight bias, harmless for a placeholder.
  for (const b of bytes) out += PLACEHOLDER_ALPHABET[b % PLACEHOLDER_ALPHABET.length];
  return out;
}

/**
 * Values that the API server checks by Secret type: a placeholder must still
 * be accepted (registry credentials must be JSON). Keyed by data key.
 */
const VALIDATED_PLACEHOLDERS: Record<string, string> = {
  '.dockerconfigjson': '{"auths":{}}',
  '.dockercfg': '{}',
};

/** A placeholder of the same length as the value (bytes), base64-encoded as `data` holds it. */
function placeholderFor(key: string, valueBytes: number): string {
  return Buffer.from(VALIDATED_PLACEHOLDERS[key] ?? randomText(valueBytes)).toString('base64');
}

/** The Secret's keys with each value's length in bytes, `stringData` folded into `data` as the API server does. */
function secretValues(o: KObject): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const [k, v] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) sizes.set(k, Buffer.from(String(v), 'base64').length);
  for (const [k, v] of Object.entries((o.stringData as Record<string, string> | undefined) ?? {})) sizes.set(k, Buffer.byteLength(String(v)));
  return sizes;
}

const sameKeys = (a: Iterable<string>, b: Iterable<string>) => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
};

async function transformSecret(o: KObject, source: KObject, profile: RestoreProfile, env: TransformEnv, notes: Notes, warnings: string[]): Promise<string | undefined> {
  const { mode, from } = secretModeOf(source, profile);
  if (mode === 'copy') return undefined;
  if (mode === 'skip') return 'Secrets are not restored by this profile (mode skip)';
  const sizes = secretValues(o);
  if (sizes.size === 0) return undefined;
  const target = o.metadata.namespace;
  let values: Record<string, string> | undefined;
  if (mode === 'fromSecret' && from) {
    const ns = from.namespace ?? target;
    const found = await env.getTarget('v1', 'Secret', ns, from.name);
    if (found) {
      values = (found.data as Record<string, string> | undefined) ?? {};
      notes.push(`Secret values taken from Secret ${ns}/${from.name} on the target`);
    } else warnings.push(`${describeObject(o)}: Secret ${ns}/${from.name} to take values from is not on the target; placeholders used instead`);
  } else if (mode === 'fromSecret') warnings.push(`${describeObject(o)}: mode fromSecret names no Secret to take values from; placeholders used instead`);

  // A placeholder Secret restored before keeps its values, so a re-run leaves it (and the pods reading it) unchanged.
  const existing = await env.getTarget(o.apiVersion, 'Secret', target, o.metadata.name);
  const reuse =
    existing?.metadata.annotations?.[MASKED_SECRET_ANNOTATION] === 'true' && sameKeys(Object.keys((existing.data as object | undefined) ?? {}), sizes.keys())
      ? (existing.data as Record<string, string>)
      : undefined;

  const data: Record<string, string> = {};
  const placeholders: string[] = [];
  for (const [key, size] of sizes) {
    if (values && values[key] !== undefined) data[key] = values[key];
    else {
      data[key] = reuse?.[key] ?? placeholderFor(key, size);
      placeholders.push(key);
    }
  }
  o.data = data;
  delete o.stringData;
  if (placeholders.length > 0) {
    o.metadata.annotations = { ...o.metadata.annotations, [MASKED_SECRET_ANNOTATION]: 'true' };
    const keys = placeholders.length === sizes.size ? 'all values' : `values of ${placeholders.join(', ')}`;
    notes.push(`Secret ${keys} replaced by placeholders${reuse ? ' (the ones already on the target kept)' : ''}`);
    if (values) warnings.push(`${describeObject(o)}: Secret ${from?.namespace ?? target}/${from?.name} has no ${placeholders.join(', ')}; placeholders used`);
  } else if (o.metadata.annotations?.[MASKED_SECRET_ANNOTATION] !== undefined) {
    delete o.metadata.annotations[MASKED_SECRET_ANNOTATION];
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Patches

function applyPatches(o: KObject, source: KObject, profile: RestoreProfile, notes: Notes, warnings: string[]): KObject {
  let current = o;
  for (const [index, rule] of (profile.patches ?? []).entries()) {
    if (!matchesRule(rule.match, source)) continue;
    let next: unknown = current;
    try {
      if (rule.jsonPatch) next = applyJsonPatch(next, rule.jsonPatch);
      if (rule.mergePatch) next = applyMergePatch(next, rule.mergePatch);
    } catch (e) {
      // A failing `test` is how a rule says "not this object".
      if (!(e instanceof JsonPatchTestFailed)) warnings.push(`patch rule ${index} on ${describeObject(current)} not applied: ${(e as Error).message}`);
      continue;
    }
    const patched = next as Partial<KObject> | null;
    if (!patched || typeof patched !== 'object' || !patched.metadata || typeof patched.metadata.name !== 'string' || !patched.kind || !patched.apiVersion) {
      warnings.push(`patch rule ${index} on ${describeObject(current)} not applied: the result has no apiVersion, kind or metadata.name`);
      continue;
    }
    current = patched as KObject;
    notes.push(`patch rule ${index} applied`);
  }
  return current;
}

// ---------------------------------------------------------------------------

/**
 * Applies the profile to one sanitised object; `source` is the object as
 * captured, which rules match. Returns the object to restore (a new one;
 * neither argument is changed), or `dropped` with the reason.
 */
export async function transform(obj: KObject, source: KObject, profile: RestoreProfile, env: TransformEnv): Promise<TransformResult> {
  const o = structuredClone(obj);
  const notes: string[] = [];
  const warnings: string[] = [];
  mapNamespaces(o, profile, notes);
  mapStorageClasses(o, profile, notes);
  mapIngressClasses(o, profile, notes);
  mapImages(o, profile, notes);
  setReplicas(o, source, profile, notes);
  dropScheduling(o, profile, notes);
  dropAnnotations(o, profile, notes);
  changeServiceType(o, profile, notes);
  if (groupKind(o) === '/Secret') {
    const dropped = await transformSecret(o, source, profile, env, notes, warnings);
    if (dropped) return { dropped, notes, warnings };
  }
  const object = applyPatches(o, source, profile, notes, warnings);
  return { object, notes: [...new Set(notes)], warnings };
}
