import type { ObjectApi } from '../contract';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { isPodReady, ownedPods, podFromTemplate } from './pods';
import { R, isTerminating, jsonEqual, now, setCondition } from './resources';

/**
 * Job → pods until spec.completions have succeeded (at most
 * spec.parallelism at a time), then Complete with completionTime; pods
 * that fail count toward backoffLimit, after which the Job fails.
 */
export function jobController(api: ObjectApi): ControllerSpec {
  return {
    name: 'job',
    primary: R.jobs,
    related: [{ key: R.pods, map: ownerKeys('Job') }],
    async reconcile(ns, name) {
      const job = await api.get(R.jobs, ns, name);
      if (!job || isTerminating(job)) return;
      const finished = (job.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      const completions: number = job.spec?.completions ?? 1;
      const parallelism: number = job.spec?.parallelism ?? 1;
      const backoffLimit: number = job.spec?.backoffLimit ?? 6;
      const pods = await ownedPods(api, job);
      const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
      const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
      let active = pods.filter((p) => !isTerminating(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      const suspended = !!job.spec?.suspend;
      if (!finished && !suspended && failed <= backoffLimit) {
        const want = Math.min(parallelism, completions - succeeded) - active.length;
        for (let i = 0; i < want; i++) {
          const pod = podFromTemplate(job, job.spec?.template, { generateName: `${name}-` }, {
            'batch.kubernetes.io/controller-uid': job.metadata.uid ?? '',
            'batch.kubernetes.io/job-name': name,
            'controller-uid': job.metadata.uid ?? '',
            'job-name': name,
          });
          const created = await api.create(R.pods, pod);
          active = [...active, created];
          await recordEvent(api, job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, { component: 'job-controller' });
        }
      }
      let conditions = job.status?.conditions;
      let completionTime = job.status?.completionTime;
      if (!finished && succeeded >= completions) {
        completionTime = now();
        conditions = setCondition(conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: completionTime });
        conditions = setCondition(conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: completionTime });
      } else if (!finished && failed > backoffLimit) {
        conditions = setCondition(conditions, { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now() });
        conditions = setCondition(conditions, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now() });
      }
      const status = JSON.parse(
        JSON.stringify({
          startTime: job.status?.startTime ?? now(),
          completionTime,
          active: active.length || undefined,
          ready: active.filter(isPodReady).length,
          succeeded: succeeded || undefined,
          failed: failed || undefined,
          terminating: 0,
          uncountedTerminatedPods: {},
          conditions,
        }),
      );
      if (jsonEqual(status, job.status ?? {})) return;
      await api.updateStatus(R.jobs, { ...job, status });
      if (!finished && succeeded >= completions) await recordEvent(api, job, 'Normal', 'Completed', 'Job completed', { component: 'job-controller' });
    },
  };
}

