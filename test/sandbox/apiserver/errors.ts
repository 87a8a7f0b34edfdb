/**
 * API errors as kube-apiserver reports them: a metav1.Status whose message,
 * reason, details and code match what clients (kubectl prints the message
 * verbatim, client libraries switch on reason/code) see from a real cluster.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

export class ApiError extends Error {
  readonly status: Status;
  readonly statusCode: number;
  constructor(status: Status) {
    super(status.message);
    this.status = status;
    this.statusCode = status.code;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** "deployments.apps" / "pods": how the server names a resource in messages. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

function details(group: string, kind: string, name?: string): Status['details'] {
  const d: Status['details'] = {};
  if (name !== undefined && name !== '') d.name = name;
  if (group) d.group = group;
  d.kind = kind;
  return d;
}

function failure(code: number, reason: string, message: string, det?: Status['details'], metadata: Record<string, unknown> = {}): ApiError {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata, status: 'Failure', message, reason, code };
  if (det) status.details = det;
  return new ApiError(status);
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return failure(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, details(group, resource, name));
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, details(group, resource, name));
}

export function conflict(group: string, resource: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, details(group, resource, name));
}

export interface FieldError {
  /** Field path as the server prints it, e.g. "spec.selector". */
  field: string;
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueDuplicate' | 'FieldValueTooLong' | 'FieldValueTypeInvalid';
  /** Full detail text, e.g. "Required value" or "Invalid value: \"x\": must be ..." */
  detail: string;
}

const typeText: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooLong: 'Too long',
  FieldValueTypeInvalid: 'Invalid value',
};

/** A field.Error rendering: `Required value`, `Invalid value: "X": detail`. */
export function fieldError(field: string, type: FieldError['type'], value?: unknown, detail?: string): FieldError {
  let text = typeText[type];
  if (type === 'FieldValueInvalid' || type === 'FieldValueNotSupported' || type === 'FieldValueDuplicate' || type === 'FieldValueTypeInvalid') {
    text += `: ${goValue(value)}`;
  }
  if (detail) text += `: ${detail}`;
  return { field, type, detail: text };
}

function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

export function invalid(group: string, kind: string, name: string, errors: FieldError[]): ApiError {
  const q = group ? `${kind}.${group}` : kind;
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const det = details(group, kind, name);
  det!.causes = errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field }));
  return failure(422, 'Invalid', `${q} "${name}" is invalid: ${summary}`, det);
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function unauthorized(): ApiError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export interface ForbiddenAttrs {
  user: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string;
}

/** The RBAC denial text: `secrets "x" is forbidden: User "u" cannot get resource "secrets" in API group "" in the namespace "ns"`. */
export function forbidden(a: ForbiddenAttrs): ApiError {
  if (a.path !== undefined) {
    return failure(403, 'Forbidden', `forbidden: User "${a.user}" cannot ${a.verb.toLowerCase()} path "${a.path}"`, {});
  }
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const subject = a.name ? `${qualifiedResource(a.group, a.resource)} "${a.name}"` : qualifiedResource(a.group, a.resource);
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const message = `${subject} is forbidden: User "${a.user}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`;
  return failure(403, 'Forbidden', message, details(a.group, a.resource, a.name));
}

/** Admission-style refusal with a free-form reason. */
export function forbiddenBecause(group: string, resource: string, name: string, why: string, causes?: StatusCause[]): ApiError {
  const subject = name ? `${qualifiedResource(group, resource)} "${name}"` : qualifiedResource(group, resource);
  const det = details(group, resource, name);
  if (causes) det!.causes = causes;
  return failure(403, 'Forbidden', `${subject} is forbidden: ${why}`, det);
}

export function namespaceTerminating(group: string, resource: string, name: string, namespace: string): ApiError {
  return forbiddenBecause(group, resource, name, `unable to create new content in namespace ${namespace} because it is being terminated`, [
    { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
  ]);
}

export function methodNotAllowed(): ApiError {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function pathNotFound(): ApiError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {});
}

export function notAcceptable(): ApiError {
  return failure(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf', {});
}

export function gone(message: string, metadata: Record<string, unknown> = {}): ApiError {
  return failure(410, 'Expired', message, undefined, metadata);
}

export function internal(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function successStatus(details?: Status['details']): Record<string, unknown> {
  const s: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  if (details) s.details = details;
  return s;
}
