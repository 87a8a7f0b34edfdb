import { randomBytes } from 'node:crypto';
import type { KObject, ObjectApi } from '../contract';
import { R, now } from './resources';

/** Who reports an event, as `kubectl describe` shows it in the From column. */
export interface EventSource {
  component: string;
  host?: string;
}

const REPEAT_MS = 10 * 60 * 1000;
const recent = new Map<string, number>();

/**
 * Records a core/v1 Event about an object, the way client-go's event
 * recorder does (name OBJECT.HEX, count, first/last timestamps).
 * Events are informational: failing to write one never fails a reconcile.
 */
export async function recordEvent(api: ObjectApi, about: KObject, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSource): Promise<void> {
  // Controllers re-evaluate on every resync; the same news about the same object is told once.
  const key = `${about.metadata.uid}\n${reason}\n${message}`;
  const seen = recent.get(key);
  if (seen !== undefined && Date.now() - seen < REPEAT_MS) return;
  recent.set(key, Date.now());
  if (recent.size > 20_000) {
    for (const [k, t] of recent) if (Date.now() - t >= REPEAT_MS) recent.delete(k);
  }
  const ts = now();
  const namespace = about.metadata.namespace ?? 'default';
  try {
    await api.create(R.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${about.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: about.apiVersion,
        kind: about.kind,
        name: about.metadata.name,
        namespace: about.metadata.namespace,
        uid: about.metadata.uid,
        resourceVersion: about.metadata.resourceVersion,
      },
      reason,
      message,
      source: source.host ? { component: source.component, host: source.host } : { component: source.component },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    });
  } catch {
    // An event that cannot be written (namespace terminating, say) is simply lost, as in a real cluster.
  }
}
