/**
 * Which objects a profile rule applies to. Rules are written against the
 * snapshot as the user knows it, so they match the SOURCE object (its
 * namespace and name before any mapping), never the transformed one.
 */
import type { KObject } from '../kube/types';
import { groupOf } from '../capture/closure';
import { parseLabelSelector, type LabelSelector } from '../capture/labelSelector';
import { globMatch } from '../capture/scope';
import type { MatchRule } from './types';

const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

// Selectors are parsed once per text: a rule is matched against every object of a snapshot.
const selectors = new Map<string, LabelSelector>();
function selectorOf(text: string): LabelSelector {
  let s = selectors.get(text);
  if (!s) {
    s = parseLabelSelector(text);
    selectors.set(text, s);
  }
  return s;
}

/** Whether any of the globs matches; an absent list matches everything. */
function anyGlob(patterns: string[] | undefined, value: string | undefined): boolean {
  if (patterns === undefined) return true;
  return value !== undefined && patterns.some((p) => globMatch(p, value));
}

/**
 * Whether the rule selects the object. Every field given must match; an
 * absent rule matches everything. `namespace` globs never match a
 * cluster-scoped object. A bad label selector throws (profiles are validated
 * on load, so this only happens with rules built in code).
 */
export function matchesRule(rule: MatchRule | undefined, obj: KObject): boolean {
  if (!rule) return true;
  if (!anyGlob(list(rule.kind), obj.kind)) return false;
  if (rule.group !== undefined && rule.group !== groupOf(obj.apiVersion)) return false;
  if (!anyGlob(list(rule.namespace), obj.metadata.namespace)) return false;
  if (!anyGlob(list(rule.name), obj.metadata.name)) return false;
  if (rule.labels !== undefined) {
    const labels = obj.metadata.labels ?? {};
    if (typeof rule.labels === 'string') return selectorOf(rule.labels).matches(labels);
    return Object.entries(rule.labels).every(([k, v]) => labels[k] === v);
  }
  return true;
}
