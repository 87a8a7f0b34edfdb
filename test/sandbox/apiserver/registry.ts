/**
 * The object registry: create, update, patch, delete, get and list with
 * kube-apiserver's semantics (name generation, namespace checks, defaulting,
 * validation, generation and resourceVersion, status and scale
 * subresources, finalizers and deletion propagation, managedFields, dry
 * run). Requests over HTTPS and the in-process ObjectApi both come here.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { DeletePropagation, KObject, ObjectApi, ResourceKey, WatchEvent } from '../contract';
import { recordUpdate, serverSideApply } from './apply';
import { toStorage, toVersion } from './conversion';
import { applyDefaults } from './defaults';
import * as errors from './errors';
import type { FieldError } from './errors';
import { applyCrdSchema } from './schema';
import { apiVersionOf, crdVersion, kindFromCrd, splitApiVersion, type KindInfo, type KindRegistry } from './kinds';
import { canonicalJson, clone, jsonPatch, mergePatch, strategicMergePatch } from './patch';
import { fromLabelSelectorObject, formatLabelSelector } from './selectors';
import type { ObjectStore, StoredObject } from './store';
import { pruneUnknown } from './strict';
import { nameProblems, validate, validateUpdate } from './validation';

export interface WriteOptions {
  dryRun?: boolean;
  /** Manager recorded in managedFields; defaults to the in-process controller name. */
  fieldManager?: string;
  /** The group version the request was made in (default: the preferred one). */
  version?: string;
}

export interface DeleteOptions {
  dryRun?: boolean;
  /** Pods on a node get this long to stop (default: their terminationGracePeriodSeconds); 0 deletes at once. */
  gracePeriodSeconds?: number;
  propagation?: DeletePropagation;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const IN_PROCESS_MANAGER = 'kube-controller-manager';
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
/** Namespaces the server refuses to delete. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
/** Kinds whose status the create request may set (the writer is the status owner). */
const STATUS_KEPT_ON_CREATE = new Set(['/nodes', '/events', 'apiregistration.k8s.io/apiservices', 'storage.k8s.io/volumeattachments', '/resourcequotas']);
const META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];

export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function canonicalMetadata(obj: KObject): void {
  const m = obj.metadata as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of META_ORDER) if (m[k] !== undefined && m[k] !== null) out[k] = m[k];
  for (const k of Object.keys(m)) if (!(k in out) && m[k] !== undefined && m[k] !== null) out[k] = m[k];
  for (const k of ['labels', 'annotations']) if (out[k] && Object.keys(out[k] as object).length === 0) delete out[k];
  for (const k of ['finalizers', 'ownerReferences', 'managedFields']) if (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0) delete out[k];
  obj.metadata = out as KObject['metadata'];
}

function withoutVolatile(obj: KObject): string {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = obj.metadata;
  return canonicalJson({ ...obj, metadata: meta });
}

function specPart(obj: KObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return canonicalJson(rest);
}

export class Registry implements ObjectApi {
  constructor(
    readonly kinds: KindRegistry,
    readonly store: ObjectStore,
  ) {}

  // ---------- addressing ----------

  info(key: ResourceKey): KindInfo {
    const info = this.kinds.get(key);
    if (!info) throw errors.pathNotFound();
    return info;
  }

  storageNamespace(info: KindInfo, namespace: string | undefined): string {
    return info.namespaced ? (namespace ?? '') : '';
  }

  etcdKey(info: KindInfo, namespace: string, name: string): string {
    return info.namespaced ? `${info.etcdPath}/${namespace}/${name}` : `${info.etcdPath}/${name}`;
  }

  stored(info: KindInfo, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.store.get(info.storageKey, this.storageNamespace(info, namespace), name);
  }

  storedList(info: KindInfo, namespace?: string): StoredObject[] {
    return this.store.list(info.storageKey, info.namespaced ? namespace : undefined);
  }

  /** The object's JSON in the requested version; the stored string when no conversion is needed. */
  encode(info: KindInfo, s: StoredObject, version: string): string {
    if (info.group !== 'events.k8s.io' && s.obj.apiVersion === apiVersionOf(info.group, version)) return s.json;
    return JSON.stringify(toVersion(info, s.obj, version));
  }

  view(info: KindInfo, s: StoredObject, version?: string): KObject {
    return JSON.parse(this.encode(info, s, version ?? info.versions[0])) as KObject;
  }

  // ---------- ObjectApi ----------

  async get(key: ResourceKey, namespace: string | undefined, name: string): Promise<KObject | undefined> {
    const info = this.info(key);
    const s = this.stored(info, namespace, name);
    return s ? this.view(info, s) : undefined;
  }

  async list(key: ResourceKey, namespace?: string): Promise<KObject[]> {
    const info = this.info(key);
    return this.storedList(info, namespace).map((s) => this.view(info, s));
  }

  create(key: ResourceKey, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    return this.createIn(this.info(key), obj, opts);
  }

  update(key: ResourceKey, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    const info = this.info(key);
    return this.replace(info, obj.metadata?.namespace, obj.metadata?.name, obj, opts);
  }

  updateStatus(key: ResourceKey, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    const info = this.info(key);
    return this.replace(info, obj.metadata?.namespace, obj.metadata?.name, obj, opts, 'status');
  }

  async delete(key: ResourceKey, namespace: string | undefined, name: string, propagation?: DeletePropagation): Promise<void> {
    await this.remove(this.info(key), namespace, name, { propagation });
  }

  watch(listener: (event: WatchEvent) => void): () => void {
    return this.store.subscribe((ev) => {
      const info = this.kinds.sharing(ev.storageKey)[0];
      if (!info) return;
      const event: WatchEvent = { type: ev.type, key: { group: info.group, resource: info.resource }, object: JSON.parse(ev.object.json) };
      if (ev.old) event.old = JSON.parse(ev.old.json);
      listener(event);
    });
  }

  // ---------- namespace checks ----------

  /** NamespaceLifecycle admission: new objects need a namespace that exists and is not terminating. */
  private checkNamespace(info: KindInfo, namespace: string | undefined, name: string): void {
    if (!info.namespaced) return;
    if (!namespace) throw errors.badRequest('the server could not find the requested resource');
    const ns = this.store.get('/namespaces', '', namespace);
    if (!ns) throw errors.notFound('', 'namespaces', namespace);
    if (ns.obj.metadata.deletionTimestamp || ns.obj.status?.phase === 'Terminating') {
      throw errors.namespaceTerminating(info.group, info.resource, name, namespace);
    }
  }

  // ---------- create ----------

  async createIn(info: KindInfo, input: KObject, opts: WriteOptions & { managedFields?: unknown[] } = {}, requestNamespace?: string): Promise<KObject> {
    if (!info.stored) throw errors.methodNotAllowed();
    const version = opts.version ?? info.versions[0];
    let obj = clone(input);
    if (!obj || typeof obj !== 'object') throw errors.badRequest('the body of the request was in an unknown format');
    obj.metadata ??= {} as KObject['metadata'];
    obj.apiVersion ??= apiVersionOf(info.group, version);
    obj.kind ??= info.kind;
    this.checkTypeMeta(info, obj, version);
    if (info.namespaced) {
      const ns = requestNamespace ?? obj.metadata.namespace;
      if (requestNamespace && obj.metadata.namespace && obj.metadata.namespace !== requestNamespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = ns;
    } else delete obj.metadata.namespace;
    obj = toStorage(info, obj);
    pruneUnknown(info, obj);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) {
      meta.name = meta.generateName + Array.from({ length: 5 }, () => GENERATE_CHARS[randomInt(GENERATE_CHARS.length)]).join('');
    }
    if (!meta.name) throw errors.invalid(info.group, info.kind, '', [{ field: 'metadata.name', type: 'FieldValueRequired', detail: 'Required value: name or generateName is required' }]);
    const nameErrs = nameProblems(meta.name, info.nameRule);
    if (nameErrs.length) throw errors.invalid(info.group, info.kind, meta.name, nameErrs);
    this.checkNamespace(info, meta.namespace, meta.name);
    this.prepareForCreate(info, obj);
    const problems = [...this.crdSchemaProblems(info, obj), ...validate(info.group, info.resource, obj)];
    if (problems.length) throw errors.invalid(info.group, info.kind, meta.name, problems);
    if (opts.managedFields) meta.managedFields = opts.managedFields;
    else recordUpdate(undefined, obj, opts.fieldManager ?? IN_PROCESS_MANAGER, apiVersionOf(info.group, version), undefined, info.kind);
    canonicalMetadata(obj);
    const ns = this.storageNamespace(info, meta.namespace);
    if (opts.dryRun) {
      if (this.store.get(info.storageKey, ns, meta.name)) throw errors.alreadyExists(info.group, info.resource, meta.name);
      return toVersion(info, obj, version);
    }
    const { stored } = await this.store.mutate(info.storageKey, this.etcdKey(info, ns, meta.name), ns, meta.name, (cur) => {
      if (cur) throw errors.alreadyExists(info.group, info.resource, meta.name);
      return { next: obj };
    });
    return this.view(info, stored!, version);
  }

  private checkTypeMeta(info: KindInfo, obj: KObject, version: string): void {
    const { group, version: v } = splitApiVersion(String(obj.apiVersion));
    if (group !== info.group || !info.versions.includes(v) || obj.kind !== info.kind) {
      if (group === info.group && obj.kind === info.kind && info.versions.includes(v)) return;
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(info.group, version)})`);
    }
  }

  private prepareForCreate(info: KindInfo, obj: KObject): void {
    const meta = obj.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    delete meta.managedFields;
    if (info.generation) meta.generation = 1;
    else delete meta.generation;
    const id = `${info.group}/${info.resource}`;
    if (info.subresources.includes('status') && !STATUS_KEPT_ON_CREATE.has(id)) delete obj.status;
    if (id === 'apiextensions.k8s.io/customresourcedefinitions') {
      meta.finalizers = [...new Set([...(meta.finalizers ?? []), 'customresourcecleanup.apiextensions.k8s.io'])];
    }
    applyDefaults(info.group, info.resource, obj, this.defaulting, true);
  }

  private crdSchemaProblems(info: KindInfo, obj: KObject): FieldError[] {
    if (!info.crd) return [];
    return applyCrdSchema(obj, crdVersion(info, info.versions[0])?.schema?.openAPIV3Schema);
  }

  private readonly defaulting = {
    allocateClusterIP: (): string => this.allocateClusterIP(),
    allocateNodePort: (): number => this.allocateNodePort(),
    defaultStorageClass: (): string | undefined => this.defaultStorageClass(),
  };

  private allocateClusterIP(): string {
    const used = new Set(this.store.list('/services').flatMap((s) => s.obj.spec?.clusterIPs ?? [s.obj.spec?.clusterIP]));
    // 10.96.0.0/12; .0.1 is the kubernetes Service, as kube-apiserver reserves it.
    if (!used.has('10.96.0.1') && this.store.count('/services') === 0) return '10.96.0.1';
    for (let i = 0; i < 1000; i++) {
      const n = randomInt(2, 1 << 20);
      const ip = `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
      if ((n & 255) !== 0 && (n & 255) !== 255 && !used.has(ip)) return ip;
    }
    throw errors.internal('failed to allocate a serviceIP: range is full');
  }

  private allocateNodePort(): number {
    const used = new Set(this.store.list('/services').flatMap((s) => (s.obj.spec?.ports ?? []).map((p: any) => p.nodePort)));
    for (let i = 0; i < 5000; i++) {
      const p = randomInt(30000, 32768);
      if (!used.has(p)) return p;
    }
    throw errors.internal('failed to allocate a nodePort: range is full');
  }

  private defaultStorageClass(): string | undefined {
    const defaults = this.store
      .list('storage.k8s.io/storageclasses')
      .filter((s) => {
        const a = s.obj.metadata.annotations ?? {};
        return a['storageclass.kubernetes.io/is-default-class'] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
      })
      .sort((a, b) => String(b.obj.metadata.creationTimestamp).localeCompare(String(a.obj.metadata.creationTimestamp)));
    return defaults[0]?.obj.metadata.name;
  }

  // ---------- update / patch ----------

  /** PUT: replaces the object (or only its status) with optimistic concurrency on resourceVersion. */
  replace(info: KindInfo, namespace: string | undefined, name: string | undefined, input: KObject, opts: WriteOptions = {}, subresource?: string): Promise<KObject> {
    if (!input || typeof input !== 'object' || !input.metadata) throw errors.badRequest('the body of the request was in an unknown format');
    const version = opts.version ?? info.versions[0];
    const urlName = name ?? input.metadata.name;
    if (input.metadata.name && urlName && input.metadata.name !== urlName) {
      throw errors.badRequest(`the name of the object (${input.metadata.name}) does not match the name on the URL (${urlName})`);
    }
    if (info.namespaced && namespace && input.metadata.namespace && input.metadata.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    input.apiVersion ??= apiVersionOf(info.group, version);
    input.kind ??= info.kind;
    this.checkTypeMeta(info, input, version);
    return this.write(info, namespace ?? input.metadata.namespace, urlName, opts, subresource, (old) => {
      const rv = input.metadata.resourceVersion;
      if (rv && rv !== old.metadata.resourceVersion) throw errors.conflict(info.group, info.resource, urlName);
      return toStorage(info, clone(input));
    });
  }

  async patch(info: KindInfo, namespace: string | undefined, name: string, type: PatchType, body: any, opts: WriteOptions & { force?: boolean } = {}, subresource?: string): Promise<KObject> {
    const version = opts.version ?? info.versions[0];
    if (type === 'strategic' && info.crd) throw errors.unsupportedMediaType(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
    if (type === 'apply') {
      if (!opts.fieldManager) throw errors.badRequest('PATCH, application/apply-patch+yaml requests must have a fieldManager parameter');
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('error decoding YAML: the applied configuration is not an object');
      if (body.metadata?.name && body.metadata.name !== name) throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      body.metadata ??= {};
      body.metadata.name ??= name;
      if (info.namespaced) body.metadata.namespace ??= namespace;
      this.checkTypeMeta(info, body, version);
      const existing = this.stored(info, namespace, name);
      if (!existing && !subresource) {
        const created = serverSideApply(undefined, toStorage(info, clone(body)), {
          manager: opts.fieldManager,
          force: !!opts.force,
          apiVersion: body.apiVersion,
          kind: info.kind,
          group: info.group,
          resource: info.resource,
        });
        const managed = created.metadata.managedFields;
        return this.createWithManagedFields(info, created, managed, opts, namespace);
      }
    }
    return this.write(info, namespace, name, { ...opts, applying: type === 'apply' }, subresource, (old) => {
      const current = toVersion(info, old, version);
      let next: KObject;
      switch (type) {
        case 'json':
          next = jsonPatch(current, body);
          break;
        case 'merge':
          if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request was in an unknown format');
          next = mergePatch(current, body);
          break;
        case 'strategic':
          if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request was in an unknown format');
          next = strategicMergePatch(current, body, info.kind);
          break;
        case 'apply':
          next = serverSideApply(toStorage(info, current), toStorage(info, clone(body)), {
            defaulted: this.defaultedCopy(info, body),
            manager: opts.fieldManager!,
            force: !!opts.force,
            apiVersion: body.apiVersion,
            kind: info.kind,
            group: info.group,
            resource: info.resource,
            subresource,
          });
          break;
      }
      if (!next || typeof next !== 'object' || Array.isArray(next)) throw errors.badRequest('the patch did not produce an object');
      next.metadata ??= {} as KObject['metadata'];
      if (next.metadata.name !== name) throw errors.badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
      const rv = next.metadata.resourceVersion;
      if (rv && rv !== old.metadata.resourceVersion) throw errors.conflict(info.group, info.resource, name);
      return toStorage(info, next);
    });
  }

  /** The applied configuration with update-time defaults, for comparing values only. */
  private defaultedCopy(info: KindInfo, body: KObject): KObject {
    const copy = toStorage(info, clone(body));
    copy.metadata ??= {} as KObject['metadata'];
    const noAllocation = { allocateClusterIP: (): string => '', allocateNodePort: (): number => 0 };
    applyDefaults(info.group, info.resource, copy, noAllocation, false);
    return copy;
  }

  private createWithManagedFields(info: KindInfo, obj: KObject, managed: unknown, opts: WriteOptions, namespace?: string): Promise<KObject> {
    // The apply owns exactly what it applied, not the defaults filled in on create.
    return this.createIn(info, obj, { ...opts, managedFields: managed as unknown[] }, namespace);
  }

  /**
   * The shared update path: `build` turns the current stored object into the
   * requested one; the rest (immutable metadata, status/spec split, defaults,
   * validation, generation, managedFields, finalizer-driven deletion) is the
   * same for PUT, PATCH and apply.
   */
  private async write(
    info: KindInfo,
    namespace: string | undefined,
    name: string | undefined,
    opts: WriteOptions & { applying?: boolean },
    subresource: string | undefined,
    build: (old: KObject) => KObject,
  ): Promise<KObject> {
    if (!info.stored) throw errors.methodNotAllowed();
    if (!name) throw errors.badRequest('name is required');
    const version = opts.version ?? info.versions[0];
    if (info.namespaced && !namespace) throw errors.badRequest('the server could not find the requested resource');
    const ns = this.storageNamespace(info, namespace);
    let dryResult: KObject | undefined;
    const { stored, result } = await this.store.mutate<KObject | 'deleted'>(info.storageKey, this.etcdKey(info, ns, name), ns, name, (cur) => {
      if (!cur) throw errors.notFound(info.group, info.resource, name);
      const old = cur.obj;
      let next = build(clone(old));
      pruneUnknown(info, next);
      next.apiVersion = old.apiVersion;
      next.kind = old.kind;
      next.metadata ??= {} as KObject['metadata'];
      if (subresource === 'status') {
        next = { ...clone(old), status: next.status };
        if (next.status === undefined) delete next.status;
      } else if (subresource === 'finalize') {
        next = { ...clone(old), spec: { ...(old.spec ?? {}), finalizers: next.spec?.finalizers ?? [] } };
      } else if (info.subresources.includes('status') && info.resource !== 'nodes') {
        if (old.status !== undefined) next.status = clone(old.status);
        else delete next.status;
      }
      const m = next.metadata;
      m.name = old.metadata.name;
      if (info.namespaced) m.namespace = old.metadata.namespace;
      else delete m.namespace;
      m.uid = old.metadata.uid;
      m.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.deletionTimestamp) {
        m.deletionTimestamp = old.metadata.deletionTimestamp;
        if (old.metadata.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      if (old.metadata.deletionTimestamp) {
        // Once deleting, finalizers may only be removed, never added.
        const added = (m.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
        if (added.length) {
          throw errors.invalid(info.group, info.kind, name, [{ field: 'metadata.finalizers', type: 'FieldValueForbidden', detail: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` }]);
        }
      }
      applyDefaults(info.group, info.resource, next, this.defaulting, false);
      const problems = [...this.crdSchemaProblems(info, next), ...validate(info.group, info.resource, next), ...validateUpdate(info.group, info.resource, next, old)];
      if (problems.length) throw errors.invalid(info.group, info.kind, name, problems);
      if (info.generation) {
        m.generation = (old.metadata.generation ?? 1) + (specPart(next) !== specPart(old) ? 1 : 0);
      } else delete m.generation;
      if (opts.applying) {
        // managedFields came from the apply merge.
      } else {
        m.managedFields = old.metadata.managedFields;
        recordUpdate(old, next, opts.fieldManager ?? IN_PROCESS_MANAGER, apiVersionOf(info.group, version), subresource === 'status' ? 'status' : undefined, info.kind);
      }
      canonicalMetadata(next);
      if (withoutVolatile(next) === withoutVolatile(old) && canonicalJson(next.metadata.managedFields ?? []) === canonicalJson(old.metadata.managedFields ?? [])) {
        return { next: undefined };
      }
      const finished = next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && !(info.resource === 'namespaces' && !info.group && (next.spec?.finalizers ?? []).length > 0);
      if (opts.dryRun) {
        dryResult = next;
        return { next: undefined };
      }
      if (finished) return { next: null, result: 'deleted' as const };
      return { next };
    });
    if (opts.dryRun) {
      const out = dryResult ?? stored!.obj;
      return toVersion(info, clone(out), version);
    }
    if (result === 'deleted') return this.view(info, stored!, version);
    return this.view(info, stored!, version);
  }

  // ---------- delete ----------

  /** Deletes; returns the object as it is afterwards (still present when finalizers hold it) and whether it is gone. */
  async remove(info: KindInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KObject; gone: boolean }> {
    if (!info.stored) throw errors.methodNotAllowed();
    const ns = this.storageNamespace(info, namespace);
    let dryResult: KObject | undefined;
    const { stored, result } = await this.store.mutate<'gone' | 'kept'>(info.storageKey, this.etcdKey(info, ns, name), ns, name, (cur) => {
      if (!cur) throw errors.notFound(info.group, info.resource, name);
      const old = cur.obj;
      const pre = opts.preconditions ?? {};
      if (pre.uid && pre.uid !== old.metadata.uid) {
        throw errors.conflict(info.group, info.resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw errors.conflict(info.group, info.resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      const isNamespace = !info.group && info.resource === 'namespaces';
      if (isNamespace && IMMORTAL_NAMESPACES.has(name)) {
        throw errors.forbiddenBecause('', 'namespaces', name, 'this namespace may not be deleted');
      }
      const propagation = opts.propagation ?? (info.group === 'batch' && info.resource === 'jobs' ? 'Orphan' : 'Background');
      const finalizers = [...(old.metadata.finalizers ?? [])];
      if (propagation === 'Foreground' && !finalizers.includes('foregroundDeletion') && !old.metadata.deletionTimestamp) finalizers.push('foregroundDeletion');
      if (propagation === 'Orphan' && !finalizers.includes('orphan') && !old.metadata.deletionTimestamp) finalizers.push('orphan');
      const held = finalizers.length > 0 || (isNamespace && (old.spec?.finalizers ?? []).length > 0);
      const isPod = !info.group && info.resource === 'pods';
      const grace = opts.gracePeriodSeconds ?? old.spec?.terminationGracePeriodSeconds ?? 30;
      if (isPod && old.spec?.nodeName && !old.metadata.deletionTimestamp && grace > 0) {
        // Graceful: the kubelet stops the containers, then deletes the pod for good.
        const next = clone(old);
        next.metadata.finalizers = finalizers;
        next.metadata.deletionTimestamp = timestamp(new Date(Date.now() + grace * 1000));
        next.metadata.deletionGracePeriodSeconds = grace;
        canonicalMetadata(next);
        if (opts.dryRun) {
          dryResult = next;
          return { next: undefined, result: 'kept' as const };
        }
        return { next, result: 'kept' as const };
      }
      if (!held) {
        if (opts.dryRun) {
          dryResult = old;
          return { next: undefined, result: 'gone' as const };
        }
        return { next: null, result: 'gone' as const };
      }
      if (old.metadata.deletionTimestamp && finalizers.length === (old.metadata.finalizers ?? []).length) {
        return { next: undefined, result: 'kept' as const };
      }
      const next = clone(old);
      next.metadata.finalizers = finalizers;
      next.metadata.deletionTimestamp ??= timestamp();
      next.metadata.deletionGracePeriodSeconds ??= 0;
      if (isNamespace) next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      canonicalMetadata(next);
      if (opts.dryRun) {
        dryResult = next;
        return { next: undefined, result: 'kept' as const };
      }
      return { next, result: 'kept' as const };
    });
    if (opts.dryRun) return { object: toVersion(info, clone(dryResult ?? stored!.obj), info.versions[0]), gone: result === 'gone' };
    return { object: this.view(info, stored!), gone: result === 'gone' };
  }

  // ---------- scale ----------

  scaleOf(info: KindInfo, obj: KObject): KObject {
    let selector = '';
    if (info.crd) {
      const scale = info.crd.spec.versions.find((v: any) => v.storage)?.subresources?.scale ?? {};
      const sel = scale.labelSelectorPath ? readJsonPath(obj, scale.labelSelectorPath) : undefined;
      selector = typeof sel === 'string' ? sel : '';
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
        spec: { replicas: Number(readJsonPath(obj, scale.specReplicasPath ?? '.spec.replicas') ?? 0) },
        status: { replicas: Number(readJsonPath(obj, scale.statusReplicasPath ?? '.status.replicas') ?? 0), ...(selector ? { selector } : {}) },
      };
    }
    const sel = info.resource === 'replicationcontrollers' ? fromLabelSelectorObject({ matchLabels: obj.spec?.selector ?? {} }) : fromLabelSelectorObject(obj.spec?.selector);
    selector = sel ? formatLabelSelector(sel) : '';
    const meta: Record<string, unknown> = { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp };
    const status: Record<string, unknown> = { replicas: obj.status?.replicas ?? 0 };
    if (selector) status.selector = selector;
    return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: meta as KObject['metadata'], spec: { replicas: obj.spec?.replicas ?? 0 }, status };
  }

  /** Applies a Scale (from PUT or a patched Scale) to the object's replicas. */
  async writeScale(info: KindInfo, namespace: string | undefined, name: string, scale: KObject, opts: WriteOptions): Promise<KObject> {
    const replicas = scale?.spec?.replicas;
    if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
      throw errors.invalid('autoscaling', 'Scale', name, [{ field: 'spec.replicas', type: 'FieldValueInvalid', detail: `Invalid value: ${replicas}: must be greater than or equal to 0` }]);
    }
    const out = await this.write(info, namespace, name, opts, undefined, (old) => {
      const rv = scale.metadata?.resourceVersion;
      if (rv && rv !== old.metadata.resourceVersion) throw errors.conflict(info.group, info.resource, name);
      const next = clone(old);
      if (info.crd) {
        const path = info.crd.spec.versions.find((v: any) => v.storage)?.subresources?.scale?.specReplicasPath ?? '.spec.replicas';
        writeJsonPath(next, path, replicas);
      } else {
        next.spec = { ...(next.spec ?? {}), replicas };
      }
      return next;
    });
    return this.scaleOf(info, out);
  }

  // ---------- CRDs ----------

  /** Serves (or stops serving) the kinds a CRD defines, and marks it Established. */
  syncCrd(crd: KObject, deleted: boolean): void {
    const spec = crd.spec ?? {};
    const existing = this.kinds.all().find((k) => k.crd?.metadata.name === crd.metadata.name);
    if (deleted) {
      if (existing) this.kinds.remove(existing.group, existing.resource);
      return;
    }
    const info = kindFromCrd(crd);
    if (existing && (!info || existing.resource !== info.resource || existing.group !== info.group)) this.kinds.remove(existing.group, existing.resource);
    if (!info) return;
    const clash = this.kinds.get({ group: info.group, resource: info.resource });
    if (clash && !clash.crd) return;
    this.kinds.add(info);
    void spec;
  }

  crdStatus(crd: KObject): KObject['status'] {
    const names = crd.spec?.names ?? {};
    const now = crd.status?.conditions?.find((c: any) => c.type === 'Established')?.lastTransitionTime ?? timestamp();
    return {
      acceptedNames: { kind: names.kind, listKind: names.listKind ?? `${names.kind}List`, plural: names.plural, singular: names.singular ?? String(names.kind).toLowerCase(), ...(names.shortNames ? { shortNames: names.shortNames } : {}), ...(names.categories ? { categories: names.categories } : {}) },
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      storedVersions: [...new Set([...(crd.status?.storedVersions ?? []), ...((crd.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name) as string[])])],
    };
  }
}

/** Reads a simple JSONPath like `.spec.replicas` or `.status.conditions[0].type`. */
export function readJsonPath(obj: unknown, path: string): unknown {
  let cur: any = obj;
  const p = path.replace(/^\{?\.?/, '').replace(/\}$/, '');
  if (!p) return cur;
  for (const part of p.split('.')) {
    const m = /^([^[\]]*)((?:\[[^\]]*\])*)$/.exec(part);
    if (!m) return undefined;
    if (m[1]) cur = cur?.[m[1]];
    for (const idx of m[2].match(/\[[^\]]*\]/g) ?? []) {
      const inner = idx.slice(1, -1);
      const filter = /^\?\(@\.([\w.]+)==["']?([^"')]*)["']?\)$/.exec(inner);
      if (filter && Array.isArray(cur)) cur = cur.find((x) => String(readJsonPath(x, filter[1])) === filter[2]);
      else if (Array.isArray(cur)) cur = cur[Number(inner)];
      else cur = undefined;
    }
    if (cur === undefined || cur === null) return undefined;
  }
  return cur;
}

function writeJsonPath(obj: any, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]] = value;
}
