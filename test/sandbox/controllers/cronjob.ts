import type { KObject, ObjectApi } from '../contract';
import { parseCron } from './cron';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { R, clone, errorCode, isControlledBy, isNotFound, jsonEqual, now, ownerRef } from './resources';

function jobFinished(job: KObject): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/**
 * CronJob → a Job at each scheduled minute (named NAME-<minutes since
 * epoch>, like the real controller), honouring suspend, concurrencyPolicy
 * and the history limits; reports lastScheduleTime and active Jobs.
 */
export function cronJobController(api: ObjectApi): ControllerSpec {
  return {
    name: 'cronjob',
    primary: R.cronjobs,
    related: [{ key: R.jobs, map: ownerKeys('CronJob') }],
    resyncMs: 5_000,
    async reconcile(ns, name) {
      const cj = await api.get(R.cronjobs, ns, name);
      if (!cj || cj.metadata.deletionTimestamp) return;
      const jobs = (await api.list(R.jobs, ns)).filter((j) => isControlledBy(j, cj));
      let active = jobs.filter((j) => !jobFinished(j));
      let schedule;
      try {
        schedule = parseCron(String(cj.spec?.schedule ?? ''));
      } catch {
        // An unparsable schedule never fires; the real controller only records an event.
        return;
      }
      const last = cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? now();
      let lastScheduleTime = cj.status?.lastScheduleTime;
      const nowDate = new Date();
      // Only the most recent missed time runs, as with the real controller.
      let due: Date | undefined;
      for (let t = schedule.next(new Date(last)); t && t <= nowDate; t = schedule.next(t)) due = t;
      if (due && !cj.spec?.suspend) {
        const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
        if (policy === 'Replace') {
          for (const j of active) await deleteQuiet(api, j);
          active = [];
        }
        if (policy !== 'Forbid' || active.length === 0) {
          const jobName = `${name}-${Math.floor(due.getTime() / 60000)}`;
          const tpl = clone(cj.spec?.jobTemplate ?? {});
          const job: KObject = {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: {
              name: jobName,
              namespace: ns,
              labels: tpl.metadata?.labels,
              annotations: { ...(tpl.metadata?.annotations ?? {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': due.toISOString().replace(/\.\d{3}Z$/, 'Z') },
              ownerReferences: [ownerRef(cj)],
            },
            spec: tpl.spec ?? {},
          };
          try {
            active.push(await api.create(R.jobs, job));
            await recordEvent(api, cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`, { component: 'cronjob-controller' });
          } catch (err) {
            if (errorCode(err) !== 409) throw err;
          }
        }
        lastScheduleTime = due.toISOString().replace(/\.\d{3}Z$/, 'Z');
      }
      const finished = jobs.filter((j) => jobFinished(j)).sort((a, b) => String(a.status?.completionTime ?? '').localeCompare(String(b.status?.completionTime ?? '')));
      const ok = finished.filter((j) => jobFinished(j) === 'Complete');
      const bad = finished.filter((j) => jobFinished(j) === 'Failed');
      const keepOk = cj.spec?.successfulJobsHistoryLimit ?? 3;
      const keepBad = cj.spec?.failedJobsHistoryLimit ?? 1;
      for (const j of ok.slice(0, Math.max(0, ok.length - keepOk))) await deleteQuiet(api, j);
      for (const j of bad.slice(0, Math.max(0, bad.length - keepBad))) await deleteQuiet(api, j);
      const lastSuccessfulTime = ok.length ? ok[ok.length - 1].status?.completionTime : cj.status?.lastSuccessfulTime;
      const status = JSON.parse(
        JSON.stringify({
          active: active.length
            ? active.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name, namespace: ns, uid: j.metadata.uid }))
            : undefined,
          lastScheduleTime,
          lastSuccessfulTime,
        }),
      );
      if (!jsonEqual(status, cj.status ?? {})) await api.updateStatus(R.cronjobs, { ...cj, status });
    },
  };
}

async function deleteQuiet(api: ObjectApi, job: KObject): Promise<void> {
  try {
    await api.delete(R.jobs, job.metadata.namespace, job.metadata.name, 'Background');
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
