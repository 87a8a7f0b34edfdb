/**
 * Conversion between a kind's stored form and the other versions (or the
 * other group) it is served under: autoscaling/v1 HorizontalPodAutoscalers
 * are stored as v2, events.k8s.io Events share storage with core Events,
 * and custom resources only change apiVersion (conversion strategy None).
 */
import type { KObject } from '../contract';
import { apiVersionOf, type KindInfo } from './kinds';

/** Stored form → the requested group/version. Returns a new object when it changes anything. */
export function toVersion(info: KindInfo, obj: KObject, version: string): KObject {
  const apiVersion = apiVersionOf(info.group, version);
  if (info.group === 'events.k8s.io') return coreEventToEventsV1(obj);
  if (obj.apiVersion === apiVersion) return obj;
  if (info.group === 'autoscaling' && version === 'v1') return hpaV2ToV1(obj);
  return { ...obj, apiVersion };
}

/** Requested version → stored form. */
export function toStorage(info: KindInfo, obj: KObject): KObject {
  const storageApi = apiVersionOf(info.group, info.versions[0]);
  if (info.group === 'events.k8s.io') return eventsV1ToCoreEvent(obj);
  if (obj.apiVersion === storageApi) return obj;
  if (info.group === 'autoscaling' && obj.apiVersion === 'autoscaling/v1') return hpaV1ToV2(obj);
  return { ...obj, apiVersion: storageApi };
}

function hpaV1ToV2(obj: KObject): KObject {
  const spec = obj.spec ?? {};
  const out: KObject = { ...obj, apiVersion: 'autoscaling/v2' };
  const { targetCPUUtilizationPercentage, ...rest } = spec;
  out.spec = { ...rest };
  out.spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage ?? 80 } } }];
  if (obj.status) {
    const { currentCPUUtilizationPercentage, ...st } = obj.status;
    out.status = { ...st };
    if (currentCPUUtilizationPercentage !== undefined) {
      out.status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }];
    }
  }
  return out;
}

function hpaV2ToV1(obj: KObject): KObject {
  const spec = obj.spec ?? {};
  const { metrics, behavior: _behavior, ...rest } = spec;
  const out: KObject = { ...obj, apiVersion: 'autoscaling/v1', spec: { ...rest } };
  const cpu = (metrics ?? []).find((m: any) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization');
  if (cpu) out.spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  if (obj.status) {
    const { currentMetrics, conditions: _c, ...st } = obj.status;
    out.status = { ...st };
    const cur = (currentMetrics ?? []).find((m: any) => m.type === 'Resource' && m.resource?.name === 'cpu');
    if (cur?.resource?.current?.averageUtilization !== undefined) out.status.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
  }
  return out;
}

function coreEventToEventsV1(e: KObject): KObject {
  const out: KObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: e.metadata };
  const set = (k: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== '') out[k] = v;
  };
  set('eventTime', e.eventTime ?? null);
  out.eventTime = e.eventTime ?? null;
  set('series', e.series);
  set('reportingController', e.reportingComponent);
  set('reportingInstance', e.reportingInstance);
  set('action', e.action);
  set('reason', e.reason);
  set('regarding', e.involvedObject);
  set('related', e.related);
  set('note', e.message);
  set('type', e.type);
  set('deprecatedSource', e.source && Object.keys(e.source).length ? e.source : undefined);
  set('deprecatedFirstTimestamp', e.firstTimestamp);
  set('deprecatedLastTimestamp', e.lastTimestamp);
  set('deprecatedCount', e.count);
  return out;
}

function eventsV1ToCoreEvent(e: KObject): KObject {
  const out: KObject = { apiVersion: 'v1', kind: 'Event', metadata: e.metadata, involvedObject: e.regarding ?? {} };
  const set = (k: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== '') out[k] = v;
  };
  set('reason', e.reason);
  set('message', e.note);
  set('source', e.deprecatedSource ?? {});
  set('firstTimestamp', e.deprecatedFirstTimestamp);
  set('lastTimestamp', e.deprecatedLastTimestamp);
  set('count', e.deprecatedCount);
  set('type', e.type);
  out.eventTime = e.eventTime ?? null;
  set('series', e.series);
  set('action', e.action);
  set('related', e.related);
  set('reportingComponent', e.reportingController ?? '');
  set('reportingInstance', e.reportingInstance ?? '');
  return out;
}
