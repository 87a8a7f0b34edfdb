/**
 * Structural schemas of CustomResourceDefinitions applied to custom
 * resources as apiextensions-apiserver applies them: unknown fields are
 * pruned (unless x-kubernetes-preserve-unknown-fields), defaults filled in,
 * and types, required fields and enums validated with the real messages.
 */
import type { KObject } from '../contract';
import { fieldError, type FieldError } from './errors';

type Schema = Record<string, any>;
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function walk(value: any, schema: Schema | undefined, path: string, errs: FieldError[]): any {
  if (!schema || value === undefined) return value;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const type = schema.type as string | undefined;
  if (value === null) {
    // null is only kept where the schema allows it; otherwise the field is dropped.
    return schema.nullable ? null : undefined;
  }
  if (type && !intOrString) {
    const actual = typeOf(value);
    const ok = actual === type || (type === 'number' && actual === 'integer');
    if (!ok) {
      errs.push({ field: path, type: 'FieldValueTypeInvalid', detail: `Invalid value: "${actual}": ${path} in body must be of type ${type}: "${actual}"` });
      return value;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push({ field: path, type: 'FieldValueNotSupported', detail: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(', ')}` });
  }
  if (isObj(value)) {
    const props: Record<string, Schema> = schema.properties ?? {};
    for (const [k, sub] of Object.entries(props)) {
      if (value[k] === undefined && sub.default !== undefined) value[k] = JSON.parse(JSON.stringify(sub.default));
    }
    for (const k of Object.keys(value)) {
      const sub = props[k] ?? (isObj(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (sub) {
        const next = walk(value[k], sub, path ? `${path}.${k}` : k, errs);
        if (next === undefined) delete value[k];
        else value[k] = next;
      } else if (!preserve && schema.additionalProperties !== true && (schema.properties || schema.additionalProperties === false || type === 'object')) {
        delete value[k];
      }
    }
    for (const r of schema.required ?? []) if (value[r] === undefined) errs.push(fieldError(path ? `${path}.${r}` : r, 'FieldValueRequired'));
  } else if (Array.isArray(value) && schema.items) {
    return value.map((v, i) => walk(v, schema.items, `${path}[${i}]`, errs));
  }
  return value;
}

/** Prunes, defaults and validates a custom resource against its version's openAPIV3Schema. */
export function applyCrdSchema(obj: KObject, schema: Schema | undefined): FieldError[] {
  if (!schema) return [];
  const errs: FieldError[] = [];
  const props: Record<string, Schema> = schema.properties ?? {};
  for (const [k, sub] of Object.entries(props)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (obj[k] === undefined && sub.default !== undefined) obj[k] = JSON.parse(JSON.stringify(sub.default));
  }
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    const sub = props[k];
    if (sub) {
      const next = walk(obj[k], sub, k, errs);
      if (next === undefined) delete obj[k];
      else obj[k] = next;
    } else if (schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      delete obj[k];
    }
  }
  for (const r of schema.required ?? []) if (r !== 'metadata' && obj[r] === undefined) errs.push(fieldError(r, 'FieldValueRequired'));
  return errs;
}
