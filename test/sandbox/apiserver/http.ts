/**
 * The HTTP face of the API server: URL routing as kube-apiserver lays it
 * out, bearer-token authentication, RBAC authorization, content
 * negotiation (JSON, YAML bodies, Table output, aggregated discovery), and
 * the list/watch/create/update/patch/delete handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../contract';
import { aggregated, apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery';
import * as errors from './errors';
import { ApiError } from './errors';
import { apiVersionOf, type KindInfo } from './kinds';
import { openApiV2, openApiV3Group, openApiV3Root } from './openapi';
import { decodeProtobuf } from './protobuf';
import { checkFields } from './strict';
import type { TokenIssuer } from './tokens';
import { clone, jsonPatch, mergePatch, strategicMergePatch } from './patch';
import type { Attributes, Authorizer, UserInfo } from './rbac';
import type { PatchType, Registry } from './registry';
import { checkFieldSelector, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors';
import type { StoreEvent, StoredObject } from './store';
import { toTable, type IncludeObject } from './tables';

const MAX_BODY = 3 * 1024 * 1024;

export interface HttpContext {
  registry: Registry;
  authorizer: Authorizer;
  tokens: Record<string, UserInfo>;
  /** ServiceAccount tokens this server issued. */
  tokenIssuer?: TokenIssuer;
  serverAddress: () => string;
}

/** A parsed resource URL. */
export interface ResourceRequest {
  info: KindInfo;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function authenticate(ctx: HttpContext, req: IncomingMessage): UserInfo {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  const bearer = m?.[1].trim();
  const who = bearer ? (ctx.tokens[bearer] ?? ctx.tokenIssuer?.verify(bearer)) : undefined;
  if (!who) throw errors.unauthorized();
  const user: UserInfo = { user: who.user, groups: [...new Set([...who.groups, 'system:authenticated'])] };
  return impersonate(ctx, req, user);
}

/** `kubectl --as USER --as-group G`: allowed when RBAC grants `impersonate` on users / groups. */
function impersonate(ctx: HttpContext, req: IncomingMessage, who: UserInfo): UserInfo {
  const asUser = req.headers['impersonate-user'];
  const rawGroups = req.headers['impersonate-group'];
  const asGroups = (Array.isArray(rawGroups) ? rawGroups : rawGroups ? String(rawGroups).split(',') : []).map((g) => g.trim()).filter(Boolean);
  if (!asUser) {
    if (asGroups.length) throw errors.internal('requested [' + asGroups.map((g) => `{Group ${g}}`).join(' ') + '] without impersonating a user');
    return who;
  }
  const name = String(asUser);
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
  if (sa) authorize(ctx, who, { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[2] });
  else authorize(ctx, who, { verb: 'impersonate', group: '', resource: 'users', name });
  for (const g of asGroups) authorize(ctx, who, { verb: 'impersonate', group: '', resource: 'groups', name: g });
  const groups = new Set(asGroups);
  if (sa) ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`].forEach((g) => groups.add(g));
  groups.add('system:authenticated');
  return { user: name, groups: [...groups] };
}

export function authorize(ctx: HttpContext, who: UserInfo, a: Attributes): void {
  if (ctx.authorizer.authorize(who, a).allowed) return;
  if (a.path !== undefined) throw errors.forbidden({ user: who.user, verb: a.verb, group: '', resource: '', path: a.path });
  throw errors.forbidden({ user: who.user, verb: a.verb, group: a.group ?? '', resource: a.resource ?? '', subresource: a.subresource, namespace: a.namespace, name: a.name });
}

/** Resolves /api/v1/... and /apis/G/V/... paths; undefined when the path names no served resource. */
export function parseResourcePath(ctx: HttpContext, parts: string[]): ResourceRequest | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length) return undefined;
  const info = ctx.registry.kinds.get({ group, resource });
  if (!info || !info.versions.includes(version)) return undefined;
  if (!info.namespaced && namespace !== undefined) return undefined;
  if (subresource && !info.subresources.includes(subresource)) return undefined;
  return { info, version, namespace, name, subresource };
}

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiError ? e : errors.internal(e instanceof Error ? e.message : String(e));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, err.statusCode, err.status);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Request entity too large: limit is 3145728', reason: 'RequestEntityTooLarge', code: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseBody(body: Buffer, contentType: string): any {
  if (/protobuf/.test(contentType)) return decodeProtobuf(body);
  const text = body.toString('utf8');
  if (!text.trim()) throw errors.badRequest('the body of the request was empty');
  try {
    if (/yaml/.test(contentType)) return parseYaml(text);
    return JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(`the body of the request could not be decoded: ${(e as Error).message.split('\n')[0]}`);
  }
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(String(req.headers.accept ?? ''));
}

/** Metadata-only responses (client-go's metadata client). */
function wantsPartial(req: IncomingMessage): boolean {
  return /as=PartialObjectMetadata/.test(String(req.headers.accept ?? ''));
}

function partial(obj: KObject): string {
  return JSON.stringify({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata });
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function fieldValidationOf(q: URLSearchParams): string | null {
  const v = q.get('fieldValidation');
  if (v && !['Strict', 'Warn', 'Ignore'].includes(v)) throw errors.badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
  return v;
}

/** Warnings travel as HTTP Warning headers, which kubectl prints. */
function warn(res: ServerResponse, warnings: string[]): void {
  if (warnings.length) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
}

function dryRunOf(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw errors.badRequest(`Invalid dryRun value: ${v}, supported values: All`);
  return values.length > 0;
}

function fieldManagerOf(q: URLSearchParams, req: IncomingMessage): string {
  const fm = q.get('fieldManager');
  if (fm) {
    if (fm.length > 128) throw errors.badRequest('fieldManager: Too long: must have at most 128 bytes');
    return fm;
  }
  const ua = String(req.headers['user-agent'] ?? 'unknown');
  return ua.split('/')[0] || 'unknown';
}

// ---------- continue tokens ----------

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

const objectKey = (s: StoredObject): string => `${s.obj.metadata.namespace ?? ''}/${s.obj.metadata.name}`;

// ---------- main dispatcher ----------

export async function handle(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const who = authenticate(ctx, req);
    const method = req.method ?? 'GET';
    const rr = parseResourcePath(ctx, parts);
    if (!rr) {
      await handleNonResource(ctx, who, req, res, url, parts);
      return;
    }
    await handleResource(ctx, who, req, res, url.searchParams, rr, method);
  } catch (e) {
    sendError(res, e);
  }
}

async function handleNonResource(ctx: HttpContext, who: UserInfo, req: IncomingMessage, res: ServerResponse, url: URL, parts: string[]): Promise<void> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  authorize(ctx, who, { verb: (req.method ?? 'GET').toLowerCase() === 'get' ? 'get' : (req.method ?? '').toLowerCase(), path });
  if (req.method !== 'GET') throw errors.pathNotFound();
  const accept = String(req.headers.accept ?? '');
  const aggregatedVersion = /g=apidiscovery\.k8s\.io;\s*v=v2(?!beta)/.test(accept) ? 'v2' : /g=apidiscovery\.k8s\.io;\s*v=v2beta1/.test(accept) ? 'v2beta1' : undefined;
  const kinds = ctx.registry.kinds;
  if (path === '/version') return send(res, 200, SERVER_VERSION);
  if (path === '/healthz' || path === '/livez' || path === '/readyz') return send(res, 200, 'ok', 'text/plain; charset=utf-8');
  if (path === '/api' || path === '/apis') {
    if (aggregatedVersion) {
      const ct = `application/json;g=apidiscovery.k8s.io;v=${aggregatedVersion};as=APIGroupDiscoveryList`;
      return send(res, 200, aggregated(kinds, path === '/api', `apidiscovery.k8s.io/${aggregatedVersion}`), ct);
    }
    return send(res, 200, path === '/api' ? apiVersions(ctx.serverAddress()) : apiGroupList(kinds));
  }
  if (parts[0] === 'api' && parts.length === 2 && parts[1] === 'v1') return send(res, 200, apiResourceList(kinds, '', 'v1'));
  if (parts[0] === 'apis' && parts.length === 2) {
    const g = apiGroup(kinds, parts[1]);
    if (g) return send(res, 200, g);
  }
  if (parts[0] === 'apis' && parts.length === 3 && kinds.groups().get(parts[1])?.includes(parts[2])) {
    return send(res, 200, apiResourceList(kinds, parts[1], parts[2]));
  }
  if (path === '/openapi/v2') {
    // kubectl asks for the protobuf form; an empty Document means "no schema", so client-side validation skips.
    if (/protobuf/.test(accept)) return send(res, 200, '', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    return send(res, 200, openApiV2(kinds));
  }
  if (path === '/openapi/v3') return send(res, 200, openApiV3Root(kinds));
  if (parts[0] === 'openapi' && parts[1] === 'v3' && parts.length >= 3) {
    const doc = openApiV3Group(kinds, parts.slice(2).join('/'));
    if (doc) return send(res, 200, doc);
  }
  throw errors.pathNotFound();
}

function verbOf(method: string, rr: ResourceRequest, q: URLSearchParams): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (q.get('watch') === 'true' || q.get('watch') === '1') return 'watch';
      return rr.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return rr.name ? 'delete' : 'deletecollection';
  }
  throw errors.methodNotAllowed();
}

async function handleResource(ctx: HttpContext, who: UserInfo, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest, method: string): Promise<void> {
  const { info } = rr;
  const verb = verbOf(method, rr, q);
  if (rr.subresource === 'exec') throw errors.badRequest('Upgrade request required');
  if (rr.subresource === 'log') {
    if (method !== 'GET') throw errors.methodNotAllowed();
    authorize(ctx, who, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: rr.namespace, name: rr.name });
    return handleLog(ctx, res, q, rr);
  }
  if (!info.verbs.includes(verb) && !(rr.subresource && ['get', 'update', 'patch'].includes(verb))) throw errors.methodNotAllowed();
  if (verb === 'create' && rr.name && !rr.subresource) throw errors.methodNotAllowed();
  authorize(ctx, who, { verb, group: info.group, resource: info.resource, subresource: rr.subresource, namespace: rr.namespace, name: rr.name });
  if (!info.stored) return handleReview(ctx, who, req, res, rr);
  if (rr.subresource === 'token') {
    if (verb !== 'create' || !ctx.tokenIssuer) throw errors.methodNotAllowed();
    const body = parseBody(await readBody(req), String(req.headers['content-type'] ?? 'application/json'));
    return send(res, 201, ctx.tokenIssuer.tokenRequest(rr.namespace!, rr.name!, body));
  }
  switch (verb) {
    case 'get':
      return handleGet(ctx, req, res, q, rr);
    case 'list':
      return handleList(ctx, req, res, q, rr);
    case 'watch':
      return handleWatch(ctx, req, res, q, rr);
    case 'create': {
      const body = parseBody(await readBody(req), String(req.headers['content-type'] ?? 'application/json'));
      warn(res, checkFields(info, body, fieldValidationOf(q), rr.version));
      const out = await ctx.registry.createIn(info, body, { dryRun: dryRunOf(q), fieldManager: fieldManagerOf(q, req), version: rr.version }, rr.namespace);
      return send(res, 201, out);
    }
    case 'update':
      return handleUpdate(ctx, req, res, q, rr);
    case 'patch':
      return handlePatch(ctx, req, res, q, rr);
    case 'delete':
      return handleDelete(ctx, req, res, q, rr);
    case 'deletecollection':
      return handleDeleteCollection(ctx, req, res, q, rr);
  }
}

function checkGetTarget(ctx: HttpContext, rr: ResourceRequest): StoredObject {
  const { info } = rr;
  if (info.namespaced && rr.namespace && !ctx.registry.store.get('/namespaces', '', rr.namespace)) {
    // Reads in a missing namespace answer NotFound for the object itself, as kube-apiserver does.
  }
  const s = ctx.registry.stored(info, rr.namespace, rr.name!);
  if (!s) throw errors.notFound(info.group, info.resource, rr.name!);
  return s;
}

function handleGet(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): void {
  const s = checkGetTarget(ctx, rr);
  if (rr.subresource === 'scale') return send(res, 200, ctx.registry.scaleOf(rr.info, s.obj));
  if (wantsTable(req)) {
    const obj = ctx.registry.view(rr.info, s, rr.version);
    return send(res, 200, toTable(rr.info, rr.version, [obj], { resourceVersion: obj.metadata.resourceVersion }, includeObject(q)));
  }
  if (wantsPartial(req)) return send(res, 200, partial(s.obj));
  send(res, 200, ctx.registry.encode(rr.info, s, rr.version));
}

interface Filter {
  labels: LabelSelector;
  fields: FieldRequirement[];
}

function filterOf(rr: ResourceRequest, q: URLSearchParams): Filter {
  const ls = q.get('labelSelector') ?? '';
  const fs = q.get('fieldSelector') ?? '';
  const labels = parseLabelSelector(ls);
  const fields = parseFieldSelector(fs);
  if (!rr.info.crd) checkFieldSelector(rr.info.group, rr.info.resource, fields);
  else for (const f of fields) if (f.field !== 'metadata.name' && f.field !== 'metadata.namespace') throw errors.badRequest(`field label not supported: ${f.field}`);
  if (rr.name) fields.push({ field: 'metadata.name', value: rr.name, negate: false });
  return { labels, fields };
}

function matches(f: Filter, obj: KObject): boolean {
  return matchesLabels(f.labels, obj.metadata.labels) && (f.fields.length === 0 || matchesFields(f.fields, obj));
}

function listKind(rr: ResourceRequest): string {
  return `${rr.info.kind}List`;
}

function handleList(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): void {
  const { info } = rr;
  const filter = filterOf(rr, q);
  const store = ctx.registry.store;
  const limit = Math.max(0, Number(q.get('limit') ?? 0) || 0);
  const cont = q.get('continue');
  let listRv = store.revision;
  let start = '';
  if (cont) {
    const t = decodeContinue(cont);
    if (t.rv <= store.compactedRevision && t.rv < store.revision) {
      const fresh = encodeContinue(store.revision, t.start);
      throw errors.gone(
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        { continue: fresh },
      );
    }
    listRv = t.rv;
    start = t.start;
  }
  const all = ctx.registry.storedList(info, rr.namespace);
  const picked: StoredObject[] = [];
  let next: string | undefined;
  let remaining = 0;
  for (const s of all) {
    if (start && objectKey(s) <= start) continue;
    if (!matches(filter, s.obj)) continue;
    if (limit && picked.length >= limit) {
      if (!next) next = encodeContinue(listRv, objectKey(picked[picked.length - 1]));
      remaining++;
      continue;
    }
    picked.push(s);
  }
  const meta: Record<string, unknown> = { resourceVersion: String(listRv) };
  if (next) {
    meta.continue = next;
    if (filter.labels.length === 0 && filter.fields.length === 0) meta.remainingItemCount = remaining;
  }
  if (wantsTable(req)) {
    const objs = picked.map((s) => (s.obj.apiVersion === apiVersionOf(info.group, rr.version) && info.group !== 'events.k8s.io' ? s.obj : ctx.registry.view(info, s, rr.version)));
    return send(res, 200, toTable(info, rr.version, objs, meta, includeObject(q)));
  }
  if (wantsPartial(req)) {
    return send(res, 200, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(meta)},"items":[${picked.map((s) => partial(s.obj)).join(',')}]}`);
  }
  const head = `{"kind":${JSON.stringify(listKind(rr))},"apiVersion":${JSON.stringify(apiVersionOf(info.group, rr.version))},"metadata":${JSON.stringify(meta)},"items":[`;
  const body = head + picked.map((s) => ctx.registry.encode(info, s, rr.version)).join(',') + ']}';
  send(res, 200, body);
}

const WATCH_DEFAULT_TIMEOUT_S = 1800;
const BOOKMARK_INTERVAL_MS = 60_000;

function handleWatch(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): void {
  const { info } = rr;
  const filter = filterOf(rr, q);
  const store = ctx.registry.store;
  const table = wantsTable(req);
  const include = includeObject(q);
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const rvParam = q.get('resourceVersion') ?? '';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const timeout = Number(q.get('timeoutSeconds') ?? 0) || WATCH_DEFAULT_TIMEOUT_S;
  const storageNs = info.namespaced ? rr.namespace : undefined;
  let headerSent = false;

  const write = (type: string, objectJson: string): void => {
    if (!headerSent) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      headerSent = true;
    }
    res.write(`{"type":"${type}","object":${objectJson}}\n`);
  };
  const metadataOnly = wantsPartial(req);
  const render = (s: StoredObject): string => {
    if (metadataOnly) return partial(s.obj);
    if (!table) return ctx.registry.encode(info, s, rr.version);
    const obj = ctx.registry.view(info, s, rr.version);
    return JSON.stringify(toTable(info, rr.version, [obj], { resourceVersion: obj.metadata.resourceVersion }, include));
  };
  const bookmark = (rv: number, initialEnd = false): void => {
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (initialEnd) meta.annotations = { 'k8s.io/initial-events-end': 'true' };
    write('BOOKMARK', JSON.stringify({ kind: table ? 'Table' : info.kind, apiVersion: table ? 'meta.k8s.io/v1' : apiVersionOf(info.group, rr.version), metadata: meta }));
  };
  let lastRv = store.revision;
  const deliver = (ev: StoreEvent): void => {
    if (ev.storageKey !== info.storageKey) return;
    if (storageNs !== undefined && ev.namespace !== storageNs) return;
    lastRv = ev.rev;
    const now = ev.type === 'DELETED' ? false : matches(filter, ev.object.obj);
    const before = ev.old ? matches(filter, ev.old.obj) : false;
    if (ev.type === 'ADDED') {
      if (now) write('ADDED', render(ev.object));
    } else if (ev.type === 'MODIFIED') {
      if (now && before) write('MODIFIED', render(ev.object));
      else if (now) write('ADDED', render(ev.object));
      else if (before) write('DELETED', render(ev.object));
    } else if (matches(filter, ev.object.obj)) write('DELETED', render(ev.object));
  };

  let backlog: StoreEvent[] | undefined;
  const fromRv = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  if (fromRv !== undefined) {
    if (!Number.isFinite(fromRv)) throw errors.badRequest(`invalid resource version: ${rvParam}`);
    backlog = store.eventsSince(fromRv);
    if (!backlog) {
      const status = errors.gone(`too old resource version: ${fromRv} (${store.compactedRevision})`).status;
      write('ERROR', JSON.stringify(status));
      res.end();
      return;
    }
  }
  const unsubscribe = store.subscribe(deliver);
  const finish = (): void => {
    unsubscribe();
    clearTimeout(timer);
    clearInterval(ticker);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(finish, timeout * 1000);
  const ticker = setInterval(() => {
    if (bookmarks) bookmark(lastRv);
  }, BOOKMARK_INTERVAL_MS);
  req.on('close', finish);
  res.on('error', finish);
  if (backlog) {
    for (const ev of backlog) deliver(ev);
  } else if (rvParam === '' || rvParam === '0' || sendInitial) {
    for (const s of ctx.registry.storedList(info, rr.namespace)) if (matches(filter, s.obj)) write('ADDED', render(s));
    if (sendInitial && bookmarks) bookmark(store.revision, true);
  }
  if (!headerSent) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    headerSent = true;
    // Flush headers so clients see the watch is established.
    res.flushHeaders();
  }
}

async function handleUpdate(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): Promise<void> {
  const body = parseBody(await readBody(req), String(req.headers['content-type'] ?? 'application/json'));
  if (!rr.subresource) warn(res, checkFields(rr.info, body, fieldValidationOf(q), rr.version));
  const opts = { dryRun: dryRunOf(q), fieldManager: fieldManagerOf(q, req), version: rr.version };
  if (rr.subresource === 'scale') {
    checkGetTarget(ctx, rr);
    return send(res, 200, await ctx.registry.writeScale(rr.info, rr.namespace, rr.name!, body, opts));
  }
  const out = await ctx.registry.replace(rr.info, rr.namespace, rr.name, body, opts, rr.subresource);
  send(res, 200, out);
}

function patchTypeOf(contentType: string): PatchType {
  const ct = contentType.split(';')[0].trim();
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
  }
  throw errors.unsupportedMediaType(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', 'application/strategic-merge-patch+json']);
}

async function handlePatch(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): Promise<void> {
  const contentType = String(req.headers['content-type'] ?? '');
  const type = patchTypeOf(contentType);
  const body = parseBody(await readBody(req), type === 'apply' ? 'yaml' : 'json');
  const force = q.get('force') === 'true';
  if (q.has('force') && type !== 'apply') throw errors.badRequest('force: Invalid value: true: may not be specified for non-apply patch');
  const opts = { dryRun: dryRunOf(q), fieldManager: type === 'apply' ? (q.get('fieldManager') ?? undefined) : fieldManagerOf(q, req), version: rr.version, force };
  if (rr.subresource === 'scale') {
    const s = checkGetTarget(ctx, rr);
    const scale = ctx.registry.scaleOf(rr.info, s.obj);
    let next: KObject;
    if (type === 'json') next = jsonPatch(scale, body);
    else if (type === 'merge') next = mergePatch(scale, body);
    else if (type === 'strategic') next = strategicMergePatch(scale, body, 'Scale');
    else next = mergePatch(scale, { spec: clone(body.spec ?? {}) });
    return send(res, 200, await ctx.registry.writeScale(rr.info, rr.namespace, rr.name!, next, opts));
  }
  const out = await ctx.registry.patch(rr.info, rr.namespace, rr.name!, type, body, opts, rr.subresource);
  send(res, 200, out);
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<{ propagation?: any; dryRun: boolean; preconditions?: any; gracePeriodSeconds?: number }> {
  const raw = await readBody(req);
  let body: any = {};
  if (raw.length && raw.toString('utf8').trim()) body = parseBody(raw, String(req.headers['content-type'] ?? 'application/json'));
  let propagation = q.get('propagationPolicy') ?? body.propagationPolicy ?? undefined;
  if (body.orphanDependents === true || q.get('orphanDependents') === 'true') propagation = 'Orphan';
  if (propagation && !['Foreground', 'Background', 'Orphan'].includes(propagation)) {
    throw errors.invalid('', 'DeleteOptions', '', [{ field: 'propagationPolicy', type: 'FieldValueNotSupported', detail: `Unsupported value: "${propagation}": supported values: "Foreground", "Background", "Orphan", "nil"` }]);
  }
  const dry = dryRunOf(q) || (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
  const graceText = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  const gracePeriodSeconds = graceText === undefined || graceText === null ? undefined : Number(graceText);
  return { propagation, dryRun: dry, preconditions: body.preconditions, gracePeriodSeconds: Number.isFinite(gracePeriodSeconds) ? gracePeriodSeconds : undefined };
}

async function handleDelete(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): Promise<void> {
  const opts = await deleteOptions(req, q);
  const { object, gone } = await ctx.registry.remove(rr.info, rr.namespace, rr.name!, opts);
  const obj = object;
  if (gone && !rr.info.crd && rr.info.resource !== 'pods' && rr.info.resource !== 'namespaces') {
    const details: Record<string, unknown> = { name: rr.name };
    if (rr.info.group) details.group = rr.info.group;
    details.kind = rr.info.resource;
    details.uid = object.metadata.uid;
    return send(res, 200, errors.successStatus(details as any));
  }
  // kube-apiserver answers 200 even when finalizers or a grace period keep the object for now.
  send(res, 200, obj);
}

async function handleDeleteCollection(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): Promise<void> {
  const opts = await deleteOptions(req, q);
  const filter = filterOf(rr, q);
  const deleted: string[] = [];
  for (const s of ctx.registry.storedList(rr.info, rr.namespace)) {
    if (!matches(filter, s.obj)) continue;
    try {
      const { object } = await ctx.registry.remove(rr.info, s.obj.metadata.namespace, s.obj.metadata.name, opts);
      deleted.push(JSON.stringify(object));
    } catch (e) {
      if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
    }
  }
  const head = `{"kind":${JSON.stringify(listKind(rr))},"apiVersion":${JSON.stringify(apiVersionOf(rr.info.group, rr.version))},"metadata":{"resourceVersion":"${ctx.registry.store.revision}"},"items":[`;
  send(res, 200, head + deleted.join(',') + ']}');
}

/**
 * Container logs. Sandbox containers run no main process, so there is
 * nothing to show; the checks (pod, container) and errors are the real ones.
 */
function handleLog(ctx: HttpContext, res: ServerResponse, q: URLSearchParams, rr: ResourceRequest): void {
  const pod = checkGetTarget(ctx, rr).obj;
  const names: string[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c: any) => c.name);
  const container = q.get('container') ?? (names.length === 1 ? names[0] : pod.metadata.annotations?.['kubectl.kubernetes.io/default-container']);
  if (!container) throw errors.badRequest(`a container name must be specified for pod ${rr.name}, choose one of: [${names.join(' ')}]`);
  if (!names.includes(container)) throw errors.badRequest(`container ${container} is not valid for pod ${rr.name}`);
  const started = (pod.status?.containerStatuses ?? []).concat(pod.status?.initContainerStatuses ?? []).find((s: any) => s.name === container);
  if (!started?.state?.running && !started?.state?.terminated) {
    throw errors.badRequest(`container "${container}" in pod "${rr.name}" is waiting to start: ${started?.state?.waiting?.reason ?? 'ContainerCreating'}`);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Content-Length': 0 });
  res.end();
}

// ---------- reviews ----------

async function handleReview(ctx: HttpContext, who: UserInfo, req: IncomingMessage, res: ServerResponse, rr: ResourceRequest): Promise<void> {
  const body = parseBody(await readBody(req), String(req.headers['content-type'] ?? 'application/json'));
  const out = { ...body, apiVersion: apiVersionOf(rr.info.group, rr.version), kind: rr.info.kind, metadata: { ...(body.metadata ?? {}), creationTimestamp: null } };
  const spec = body.spec ?? {};
  switch (rr.info.resource) {
    case 'selfsubjectaccessreviews':
    case 'subjectaccessreviews':
    case 'localsubjectaccessreviews': {
      const subject: UserInfo = rr.info.resource === 'selfsubjectaccessreviews' ? who : { user: spec.user ?? '', groups: spec.groups ?? [] };
      const ra = spec.resourceAttributes;
      const nra = spec.nonResourceAttributes;
      if (!ra && !nra) {
        throw errors.invalid(rr.info.group, rr.info.kind, '', [{ field: 'spec.resourceAttributes', type: 'FieldValueInvalid', detail: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
      }
      const attrs: Attributes = nra
        ? { verb: nra.verb ?? '', path: nra.path ?? '' }
        : { verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined, namespace: ra.namespace || (rr.info.resource === 'localsubjectaccessreviews' ? rr.namespace : undefined), name: ra.name || undefined };
      const d = ctx.authorizer.authorize(subject, attrs);
      out.status = d.allowed ? { allowed: true, reason: d.reason } : { allowed: false };
      return send(res, 201, out);
    }
    case 'selfsubjectrulesreviews': {
      const rules = ctx.authorizer.rules(who, spec.namespace ?? '');
      out.status = { ...rules, incomplete: false };
      return send(res, 201, out);
    }
    case 'selfsubjectreviews':
      out.status = { userInfo: { username: who.user, groups: who.groups } };
      return send(res, 201, out);
  }
  throw errors.methodNotAllowed();
}
