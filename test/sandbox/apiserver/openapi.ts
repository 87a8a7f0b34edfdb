/**
 * OpenAPI v3 documents, as far as kubectl uses them: per group version,
 * the resource paths with their operations, each PATCH tagged with
 * x-kubernetes-group-version-kind and declaring the `fieldValidation`
 * query parameter (kubectl then leaves validation to the server instead of
 * downloading schemas), and a schema stub per kind. OpenAPI v2 is served
 * without schemas, which makes kubectl skip client-side validation of kinds
 * it cannot check on the server (as for kinds a real cluster lacks).
 */
import { apiVersionOf, type KindInfo, type KindRegistry } from './kinds';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function hashOf(kinds: KindRegistry, path: string): string {
  let h = 2166136261;
  for (const ch of `${path}#${kinds.generationNumber}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).toUpperCase().padStart(8, '0').repeat(16);
}

/** A schema-less v2 document: clients fall back to their built-in knowledge of each kind. */
export function openApiV2(_kinds: KindRegistry): unknown {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths: {}, definitions: {} };
}

export function openApiV3Root(kinds: KindRegistry): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const gvs = new Set<string>(['api/v1']);
  for (const k of kinds.all()) for (const v of k.versions) gvs.add(gvPath(k.group, v));
  for (const gv of [...gvs].sort()) paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(kinds, gv)}` };
  return { paths };
}

function schemaName(k: KindInfo, version: string): string {
  if (k.crd) return `${k.group.split('.').reverse().join('.')}.${version}.${k.kind}`;
  const g = k.group === '' ? 'core' : k.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '');
  const pkg = ['apiextensions.k8s.io', 'apiregistration.k8s.io'].includes(k.group) ? `io.k8s.${k.group.split('.')[0]}-apiserver.pkg.apis.${k.group.split('.')[0]}` : `io.k8s.api.${g}`;
  return `${pkg}.${version}.${k.kind}`;
}

const PARAM = (name: string, type = 'string'): unknown => ({ name, in: 'query', schema: { type, uniqueItems: true } });

function operation(k: KindInfo, version: string, verb: string, ref: string): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${verb}${k.kind}`,
    'x-kubernetes-action': verb,
    'x-kubernetes-group-version-kind': { group: k.group, version, kind: k.kind },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } }, '401': { description: 'Unauthorized' } },
  };
  if (verb === 'patch') {
    op.parameters = [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation'), PARAM('force', 'boolean')];
    op.requestBody = {
      content: {
        'application/apply-patch+yaml': { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
        'application/json-patch+json': { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
        'application/merge-patch+json': { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
      },
      required: true,
    };
  } else if (verb === 'post' || verb === 'put') {
    op.parameters = [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation')];
    op.requestBody = { content: { '*/*': { schema: { $ref: ref } } }, required: true };
  }
  return op;
}

export function openApiV3Group(kinds: KindRegistry, path: string): unknown | undefined {
  const m = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = m[1] ?? m[3];
  const members = kinds.all().filter((k) => k.group === group && k.versions.includes(version));
  if (members.length === 0 && !(group === '' && version === 'v1')) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  };
  const base = `/${gvPath(group, version)}`;
  for (const k of members) {
    const name = schemaName(k, version);
    const ref = `#/components/schemas/${name}`;
    schemas[name] = {
      type: 'object',
      description: `${k.kind} (${apiVersionOf(group, version)})`,
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group, kind: k.kind, version }],
    };
    const collection = k.namespaced ? `${base}/namespaces/{namespace}/${k.resource}` : `${base}/${k.resource}`;
    if (!k.stored) {
      paths[collection] = { post: operation(k, version, 'post', ref) };
      continue;
    }
    paths[collection] = { get: operation(k, version, 'list', ref), post: operation(k, version, 'post', ref) };
    paths[`${collection}/{name}`] = {
      get: operation(k, version, 'get', ref),
      put: operation(k, version, 'put', ref),
      patch: operation(k, version, 'patch', ref),
      delete: operation(k, version, 'delete', ref),
    };
    for (const sub of k.subresources.filter((s) => s === 'status' || s === 'scale')) {
      paths[`${collection}/{name}/${sub}`] = { get: operation(k, version, 'get', ref), put: operation(k, version, 'put', ref) };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths, components: { schemas } };
}
