/**
 * OpenAPI documents, as far as kubectl uses them.
 */
import * as errors from './errors';
import type { KindRegistry } from './kinds';

export function openApiV2(_kinds: KindRegistry): unknown {
  throw errors.pathNotFound();
}

export function openApiV3Root(_kinds: KindRegistry): unknown {
  throw errors.pathNotFound();
}

export function openApiV3Group(_kinds: KindRegistry, _path: string): unknown {
  return undefined;
}
