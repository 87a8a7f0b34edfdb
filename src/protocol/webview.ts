import type { SnapshotSummary } from '../engine/repo/snapshot';
import { PLAN_ACTIONS, type ExistingPolicy, type PlanAction, type RestorePlan, type RestoreRecordEntry } from '../engine/restore/types';
import type { SnapshotsContentsResult } from './worker';
import { integer, InvalidParamsError, object, string } from './validate';

/**
 * Messages between the extension and its webview panels (the restore plan
 * and the snapshot overview), declared once for both sides. What a webview
 * sends is untrusted: the extension takes it only through
 * `parseWebviewMessage`, which refuses unknown types and fields.
 */

/** What the plan panel was asked to show: the request in words, for its header. */
export interface PlanPanelRequest {
  snapshot: string;
  context: string;
  profile: string;
  policy: ExistingPolicy;
  namespaceMapping: Record<string, string>;
}

/** The outcome of an apply, as the panel shows it. */
export interface PlanPanelApplied {
  complete: boolean;
  /** Writes per outcome (created, updated, data-written...). */
  outcomes: Partial<Record<RestoreRecordEntry['outcome'], number>>;
  failed: Array<Pick<RestoreRecordEntry, 'kind' | 'namespace' | 'name' | 'message'>>;
  verify: RestorePlan['counts'];
  warnings: string[];
}

/** Extension → restore plan panel. */
export type PlanPanelUpdate =
  | { type: 'request'; request: PlanPanelRequest; production: boolean }
  | { type: 'busy'; what: 'planning' | 'applying' }
  | { type: 'plan'; plan: RestorePlan }
  | { type: 'applied'; applied: PlanPanelApplied; plan: RestorePlan }
  | { type: 'error'; message: string };

/** One point of the overview's chart: a snapshot of the same cluster and scope. */
export interface OverviewPoint {
  id: string;
  time: string;
  bytes: number;
  added: number;
  durationMs: number;
}

/** Extension → snapshot overview panel. */
export type OverviewUpdate =
  | {
      type: 'overview';
      snapshot: SnapshotSummary;
      repository: string;
      contents: Pick<SnapshotsContentsResult, 'namespaces' | 'volumes' | 'data'>;
      /** Oldest first; includes the snapshot itself. */
      history: OverviewPoint[];
      /** Logical bytes of every snapshot of the repository and the bytes they added: the repository-wide dedup ratio. */
      repositoryTotals?: { snapshots: number; bytes: number; added: number };
    }
  | { type: 'error'; message: string };

/**
 * Webview → extension. `ready`: the page loaded and wants its state;
 * `refresh`: plan again; `apply`: the user pressed Apply; `shown`: the page
 * rendered a plan, with the counts per action it displays and its row count.
 */
export type PlanPanelCommand = { type: 'ready' } | { type: 'refresh' } | { type: 'apply' } | { type: 'shown'; counts: Record<PlanAction, number>; rows: number };
export type OverviewCommand = { type: 'ready' } | { type: 'refresh' };

export type PanelKind = 'restorePlan' | 'overview';

const COMMANDS: Record<PanelKind, readonly string[]> = {
  restorePlan: ['ready', 'refresh', 'apply', 'shown'],
  overview: ['ready', 'refresh'],
};

/**
 * A webview's message, checked: a plain object with a known `type` for
 * that panel and no other field. Throws InvalidParamsError naming what is
 * wrong (never echoing the value).
 */
export function parseWebviewMessage(panel: 'restorePlan', value: unknown): PlanPanelCommand;
export function parseWebviewMessage(panel: 'overview', value: unknown): OverviewCommand;
export function parseWebviewMessage(panel: PanelKind, value: unknown): PlanPanelCommand | OverviewCommand {
  const type = string(object(value, 'message', ['type', 'counts', 'rows']), 'type', 'message', { max: 64 });
  if (!COMMANDS[panel].includes(type)) {
    throw new InvalidParamsError('message.type', `unknown message type for the ${panel} panel (expected one of ${COMMANDS[panel].join(', ')})`);
  }
  if (type !== 'shown') {
    object(value, 'message', ['type']);
    return { type } as PlanPanelCommand | OverviewCommand;
  }
  const fields = object(value, 'message', ['type', 'counts', 'rows']);
  const given = object(fields.counts, 'message.counts', PLAN_ACTIONS);
  const counts = Object.fromEntries(PLAN_ACTIONS.map((a) => [a, integer(given, a, 'message.counts', { min: 0, max: 10_000_000 })])) as Record<PlanAction, number>;
  return { type: 'shown', counts, rows: integer(fields, 'rows', 'message', { min: 0, max: 10_000_000 }) };
}
