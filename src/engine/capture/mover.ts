import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { Readable, Writable } from 'node:stream';
import { KubeApiError, type ApiResource, type ExecResult, type KObject, type KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError } from '../progress';
import { LIST_NAMES_COMMAND, LIST_STATS_COMMAND } from './incremental';

/**
 * The mover: a short-lived pod that mounts a claim read-only at /data so
 * its files can be streamed out with `tar` over the exec API, or (for a
 * restore) read-write so an archive can be streamed in. Everything a
 * capture creates in the cluster (movers, and the clone claims and
 * VolumeSnapshots of ./volumeSnapshot) carries Lifeboat's labels and names
 * its holder process, with a heartbeat, so the next capture can tell a
 * leftover of a dead process from the work of a live one.
 */

/** A small image with `tar`, `sleep`, `du`, `find`, `xargs` and `stat`. */
export const DEFAULT_MOVER_IMAGE = 'docker.io/library/busybox:1.37';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MOVER_LABEL = 'lifeboat.dev/mover';
/** "host/pid/start-time" of the process that created the object. */
export const HOLDER_ANNOTATION = 'lifeboat.dev/holder';
/** When the holder last said it still uses the object (RFC 3339). */
export const HEARTBEAT_ANNOTATION = 'lifeboat.dev/heartbeat';
/** "namespace/claim" the object serves. */
export const VOLUME_ANNOTATION = 'lifeboat.dev/volume';

export const CAPTURE_LABELS: Readonly<Record<string, string>> = { [MANAGED_BY_LABEL]: 'lifeboat', [MOVER_LABEL]: 'capture' };
export const CAPTURE_SELECTOR = `${MANAGED_BY_LABEL}=lifeboat,${MOVER_LABEL}=capture`;
/** Movers that write a snapshot's data back into a claim. */
export const RESTORE_LABELS: Readonly<Record<string, string>> = { [MANAGED_BY_LABEL]: 'lifeboat', [MOVER_LABEL]: 'restore' };
export const RESTORE_SELECTOR = `${MANAGED_BY_LABEL}=lifeboat,${MOVER_LABEL}=restore`;

/** What a mover is for: 'read' (capture: the claim mounted read-only) or 'write' (restore: mounted read-write). */
export type MoverMode = 'read' | 'write';

export const HEARTBEAT_INTERVAL_MS = 20_000;
/** A heartbeat older than this means nobody holds the object any more. */
export const HEARTBEAT_STALE_MS = 120_000;
/** The mover's own end, should every cleanup fail: `sleep` ends and activeDeadlineSeconds stops the pod. */
export const MOVER_LIFETIME_SECONDS = 12 * 3600;
const MOUNT_PATH = '/data';

/** Seconds since the epoch at which a process started, from /proc; undefined where /proc cannot say. */
function processStartSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, in clock ticks since boot) counts from after the ")" closing the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // USER_HZ is 100 on every Linux architecture Node runs on.
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime + ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

const selfStart = processStartSeconds(process.pid) ?? Date.now() / 1000 - process.uptime();

/** This process as a holder: "host/pid/start", start time in whole seconds since the epoch. */
export function holderIdentity(): string {
  return `${os.hostname()}/${process.pid}/${Math.round(selfStart)}`;
}

export interface Holder {
  host: string;
  pid: number;
  startSeconds: number;
}

export function parseHolder(value: string | undefined): Holder | undefined {
  const m = /^(.+)\/(\d+)\/(\d+)$/.exec(value ?? '');
  return m ? { host: m[1], pid: Number(m[2]), startSeconds: Number(m[3]) } : undefined;
}

/** Whether a process of this host still runs; a pid taken over by a later process counts as gone. */
export function holderAlive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartSeconds(holder.pid);
  return started === undefined || Math.abs(started - holder.startSeconds) < 5;
}

/** Labels and annotations that mark an object as a capture's (or, with mode 'write', a restore's), held by this process. */
export function captureMetadata(volume: { namespace: string; pvc: string }, mode: MoverMode = 'read'): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { ...(mode === 'write' ? RESTORE_LABELS : CAPTURE_LABELS) },
    annotations: { [HOLDER_ANNOTATION]: holderIdentity(), [HEARTBEAT_ANNOTATION]: new Date().toISOString(), [VOLUME_ANNOTATION]: `${volume.namespace}/${volume.pvc}` },
  };
}

/** An object name from a prefix and a claim name: DNS-label safe, at most 63 characters, with a random tail. */
export function objectName(prefix: string, claim: string): string {
  const tail = randomBytes(3).toString('hex');
  const slug = claim.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const room = 63 - prefix.length - tail.length - 2;
  return `${prefix}-${slug.slice(0, room).replace(/-+$/, '')}-${tail}`.replace(/--+/g, '-');
}

/** The served resource for a kind, or an error naming the cluster when it is not served. */
export async function resourceOf(kube: KubeClient, apiVersion: string, kind: string): Promise<ApiResource> {
  const r = await kube.resourceFor(apiVersion, kind);
  if (!r) throw new Error(`cluster ${kube.context} does not serve ${kind} (${apiVersion})`);
  return r;
}

export function isStatus(err: unknown, status: number): err is KubeApiError {
  return err instanceof KubeApiError && err.status === status;
}

/**
 * Keeps the heartbeat annotation of the objects in use fresh, so that a
 * sweep (in this or another process) leaves them alone.
 */
export class Heartbeat {
  private readonly held = new Map<string, { resource: ApiResource; namespace: string; name: string }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger = silentLogger,
    private readonly intervalMs = HEARTBEAT_INTERVAL_MS,
  ) {}

  hold(resource: ApiResource, namespace: string, name: string): void {
    this.held.set(`${resource.resource}/${namespace}/${name}`, { resource, namespace, name });
    this.timer ??= setInterval(() => void this.beat(), this.intervalMs).unref();
  }

  release(resource: ApiResource, namespace: string, name: string): void {
    this.held.delete(`${resource.resource}/${namespace}/${name}`);
    if (this.held.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    const patch = { metadata: { annotations: { [HEARTBEAT_ANNOTATION]: new Date().toISOString() } } };
    await Promise.all(
      [...this.held.entries()].map(async ([key, o]) => {
        try {
          await this.kube.patch(o.resource, o.name, o.namespace, patch, 'merge');
        } catch (err) {
          if (isStatus(err, 404)) this.held.delete(key);
          else this.log.log('debug', `heartbeat of ${o.resource.resource} ${o.namespace}/${o.name} not written: ${(err as Error).message}`);
        }
      }),
    );
  }
}

export interface MoverOptions {
  namespace: string;
  /** The claim to mount (the user's, or a clone of it). */
  claim: string;
  /** The claim the capture (or restore) is about, for labels and messages. */
  volume: { namespace: string; pvc: string };
  /** 'read' (default): the claim is mounted read-only; 'write': read-write, to restore into it. */
  mode?: MoverMode;
  /** Node to run on (where a pod using the claim runs, so a ReadWriteOnce volume can be mounted); undefined: anywhere. */
  node?: string;
  image?: string;
  heartbeat: Heartbeat;
  signal?: AbortSignal;
  log?: Logger;
  /** How long the pod may take to run (scheduling, volume attach, image pull); default 3 minutes. */
  startTimeoutMs?: number;
}

/** The mover pod's manifest. */
export function moverPod(name: string, options: Pick<MoverOptions, 'namespace' | 'claim' | 'volume' | 'image' | 'mode'> & { nodeHostname?: string }): KObject {
  const write = options.mode === 'write';
  const meta = captureMetadata(options.volume, options.mode);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace, labels: meta.labels, annotations: meta.annotations },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: MOVER_LIFETIME_SECONDS + 600,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(options.nodeHostname
        ? {
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [options.nodeHostname] }] }] } } },
            // The application's node may be tainted; the mover has to go where the volume is attached.
            tolerations: [{ operator: 'Exists' }],
          }
        : {}),
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'mover',
          image: options.image ?? DEFAULT_MOVER_IMAGE,
          command: ['sleep', String(MOVER_LIFETIME_SECONDS)],
          volumeMounts: [{ name: 'data', mountPath: MOUNT_PATH, readOnly: !write }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '256Mi' } },
          // Root with no capability but reading past file permissions: volumes hold files of any owner.
          // Writing back also needs to give files their owners (CHOWN) and set modes and times on them (FOWNER).
          securityContext: {
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsUser: 0,
            capabilities: { drop: ['ALL'], add: write ? ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] : ['DAC_OVERRIDE'] },
          },
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: options.claim, readOnly: !write } }],
    },
  };
}

/**
 * The mover could not be created: the user may not create pods there, or
 * an admission policy (Pod Security, say) refused the pod.
 */
export class MoverForbiddenError extends Error {
  constructor(
    readonly namespace: string,
    serverMessage?: string,
  ) {
    super(
      serverMessage && /PodSecurity|admission|denied the request/i.test(serverMessage)
        ? `the mover pod is not admitted in namespace "${namespace}": ${serverMessage}`
        : `cannot create pods in namespace "${namespace}" (Forbidden)`,
    );
    this.name = 'MoverForbiddenError';
  }
}

export interface Mover {
  readonly namespace: string;
  readonly name: string;
  /**
   * Streams `tar -cf - -C /data .` into `out`, with backpressure; `out` is not ended.
   * `exclude` ("./a/b" lines, see ./incremental) is given to tar on stdin as its `-X` list.
   */
  tar(out: Writable, stderr: Writable, signal: AbortSignal, exclude?: Buffer): Promise<ExecResult>;
  /**
   * Write movers: creates /data/DIR (segments of a path checked by the
   * caller) and extracts the archive read from `input` into it with
   * `tar -xpf -`, keeping owners and modes. The exit status is returned;
   * a `mkdir` that fails is reported the same way, with its message on `stderr`.
   */
  extract(input: Readable, stderr: Writable, signal: AbortSignal, dir: string[]): Promise<ExecResult>;
  /** The raw listing of ./incremental: NUL-separated names, then their stat lines; an error says why there is none. */
  list(signal: AbortSignal): Promise<{ names: Buffer; stats: string } | { error: string }>;
  /** Bytes below /data (`du -sb`), or undefined when the image cannot say. */
  size(signal: AbortSignal): Promise<number | undefined>;
  /** Deletes the pod at once (grace 0). Never throws: a mover it cannot delete is left to the next sweep. */
  remove(options?: { timeoutMs?: number }): Promise<void>;
}

const STDERR_KEEP = 400;

/*
 * Data for a command goes on stdin, never into a shell string. `head -c`
 * takes exactly the bytes sent (their count is the first argument) and
 * ends, so the command sees the end of its input even where the exec
 * protocol (v4) cannot close stdin.
 */
/** Archives /data leaving out the "./a/b" lines read as tar's exclude list. */
const TAR_EXCLUDING_SCRIPT = `head -c "$1" | tar -cf - -X - -C ${MOUNT_PATH} .`;
/** Runs the command in the remaining arguments over the NUL-separated names read. */
const STAT_NAMES_SCRIPT = 'n="$1"; shift; head -c "$n" | "$@"';

/** Gathers a command's output; with a limit, only its first bytes. */
function collect(limit = Infinity): { sink: Writable; bytes(): Buffer; text(): string } {
  const parts: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (size < limit) {
        parts.push(chunk);
        size += chunk.length;
      }
      done();
    },
  });
  const bytes = (): Buffer => Buffer.concat(parts);
  return { sink, bytes, text: () => bytes().toString('utf8').slice(0, limit).trim() };
}

async function nodeHostname(kube: KubeClient, node: string): Promise<string> {
  try {
    const nodes = await resourceOf(kube, 'v1', 'Node');
    const obj = await kube.get(nodes, node);
    return obj?.metadata.labels?.['kubernetes.io/hostname'] ?? node;
  } catch {
    return node;
  }
}

/**
 * Creates the mover and waits until it runs. On any failure (and on
 * cancellation) the pod is deleted before the error is thrown.
 */
export async function startMover(kube: KubeClient, options: MoverOptions): Promise<Mover> {
  const log = options.log ?? silentLogger;
  const pods = await resourceOf(kube, 'v1', 'Pod');
  const name = objectName(options.mode === 'write' ? 'lifeboat-restore' : 'lifeboat-mover', options.claim);
  const ns = options.namespace;
  const manifest = moverPod(name, { ...options, nodeHostname: options.node ? await nodeHostname(kube, options.node) : undefined });
  try {
    await kube.create(pods, manifest, { signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError();
    if (isStatus(err, 403)) throw new MoverForbiddenError(ns, String(err.body?.message ?? ''));
    throw new Error(`creating mover pod ${ns}/${name} for volume ${options.volume.namespace}/${options.volume.pvc} failed: ${(err as Error).message}`);
  }
  options.heartbeat.hold(pods, ns, name);
  let removed = false;
  const mover: Mover = {
    namespace: ns,
    name,
    tar: (out, stderr, signal, exclude) =>
      exclude
        ? kube.exec(ns, name, ['sh', '-c', TAR_EXCLUDING_SCRIPT, 'sh', String(exclude.length)], { stdin: Readable.from([exclude]), stdout: out, stderr, signal })
        : kube.exec(ns, name, ['tar', '-cf', '-', '-C', MOUNT_PATH, '.'], { stdout: out, stderr, signal }),
    async extract(input, stderr, signal, dir) {
      if (options.mode !== 'write') throw new Error(`mover pod ${ns}/${name} mounts its volume read-only: it cannot extract`);
      const target = [MOUNT_PATH, ...dir].join('/');
      if (dir.length > 0) {
        const made = await kube.exec(ns, name, ['mkdir', '-p', target], { stderr, signal });
        if (made.exitCode !== 0) return made;
      }
      return kube.exec(ns, name, ['tar', '-xpf', '-', '-C', target], { stdin: input, stderr, signal });
    },
    async list(signal) {
      const names = collect();
      const errors = collect(STDERR_KEEP);
      const found = await kube.exec(ns, name, LIST_NAMES_COMMAND, { stdout: names.sink, stderr: errors.sink, signal });
      if (found.exitCode !== 0) return { error: `find exited with ${found.exitCode}${errors.text() ? `: ${errors.text()}` : ''}` };
      const namesOut = names.bytes();
      if (namesOut.length === 0) return { names: namesOut, stats: '' };
      const stats = collect();
      const stated = await kube.exec(ns, name, ['sh', '-c', STAT_NAMES_SCRIPT, 'sh', String(namesOut.length), ...LIST_STATS_COMMAND], {
        stdin: Readable.from([namesOut]),
        stdout: stats.sink,
        stderr: errors.sink,
        signal,
      });
      if (stated.exitCode !== 0) return { error: `stat exited with ${stated.exitCode}${errors.text() ? `: ${errors.text()}` : ''}` };
      // Some tar builds (busybox without its FEATURE_TAR_FROM) have no -X; asked to archive nothing, they say so here.
      const probe = await kube.exec(ns, name, ['tar', '-cf', '/dev/null', '-X', '/dev/null', '--no-recursion', '-C', MOUNT_PATH, '.'], { stderr: errors.sink, signal });
      if (probe.exitCode !== 0) return { error: `the image's tar does not take an exclude list (-X): ${errors.text() || `exit code ${probe.exitCode}`}` };
      return { names: namesOut, stats: stats.bytes().toString('utf8') };
    },
    async size(signal) {
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          if (text.length < 256) text += chunk.toString('utf8');
          done();
        },
      });
      try {
        const r = await kube.exec(ns, name, ['du', '-sb', MOUNT_PATH], { stdout: sink, signal });
        const bytes = Number(/^(\d+)/.exec(text)?.[1]);
        return r.exitCode === 0 && Number.isFinite(bytes) ? bytes : undefined;
      } catch {
        return undefined;
      }
    },
    async remove({ timeoutMs = 10_000 } = {}) {
      if (removed) return;
      removed = true;
      options.heartbeat.release(pods, ns, name);
      try {
        await kube.delete(pods, name, ns, { gracePeriodSeconds: 0, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        log.log('warn', `mover pod ${ns}/${name} could not be deleted (${(err as Error).message}); the next capture removes it`);
      }
    },
  };
  try {
    await waitRunning(kube, pods, mover, options);
    return mover;
  } catch (err) {
    await mover.remove({ timeoutMs: 2000 });
    throw err;
  }
}

async function waitRunning(kube: KubeClient, pods: ApiResource, mover: Mover, options: MoverOptions): Promise<void> {
  const timeoutMs = options.startTimeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const label = `mover pod ${mover.namespace}/${mover.name} (volume ${options.volume.namespace}/${options.volume.pvc})`;
  let pod: KObject | undefined;
  for (;;) {
    if (options.signal?.aborted) throw new CancelledError();
    try {
      pod = await kube.get(pods, mover.name, mover.namespace, { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw new CancelledError();
      throw err;
    }
    if (!pod) throw new Error(`${label} disappeared before it ran`);
    const phase = pod.status?.phase;
    if (phase === 'Running') return;
    if (phase === 'Failed' || phase === 'Succeeded') throw new Error(`${label} ended (${phase}) before it ran: ${await whyNotRunning(kube, pod)}`);
    if (Date.now() > deadline) throw new Error(`${label} did not start within ${timeoutMs / 1000}s: ${await whyNotRunning(kube, pod)}`);
    await sleep(250, options.signal);
  }
}

/** The most telling reason a pod is not running: a waiting container, a false condition, the latest warning event. */
async function whyNotRunning(kube: KubeClient, pod: KObject): Promise<string> {
  const reasons: string[] = [];
  for (const cs of pod.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason && w.reason !== 'ContainerCreating') reasons.push(`container ${cs.name}: ${w.reason}${w.message ? ` (${w.message})` : ''}`);
  }
  for (const c of pod.status?.conditions ?? []) {
    if (c.status === 'False' && (c.reason || c.message) && c.reason !== 'ContainersNotReady') reasons.push(`${c.type}: ${[c.reason, c.message].filter(Boolean).join(': ')}`);
  }
  try {
    const events = await resourceOf(kube, 'v1', 'Event');
    const list = await kube.listAll(events, { namespace: pod.metadata.namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod.metadata.name}` });
    const warnings = list.filter((e) => e.type === 'Warning').sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')));
    const last = warnings[warnings.length - 1];
    if (last) reasons.push(`event ${last.reason}: ${last.message}`);
  } catch {
    // Events are a hint; without them the conditions speak.
  }
  if (reasons.length === 0) reasons.push(`phase ${pod.status?.phase ?? 'unknown'}`);
  return reasons.join('; ');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why an object of a capture is left over, or undefined while its holder still uses it. */
export function leftoverReason(obj: KObject, now = Date.now(), thisHost = os.hostname()): string | undefined {
  const annotations = obj.metadata.annotations ?? {};
  const beat = Date.parse(annotations[HEARTBEAT_ANNOTATION] ?? obj.metadata.creationTimestamp ?? '');
  if (!Number.isFinite(beat)) return 'it has no heartbeat';
  if (now - beat > HEARTBEAT_STALE_MS) return `its heartbeat is ${Math.round((now - beat) / 1000)}s old`;
  const holder = parseHolder(annotations[HOLDER_ANNOTATION]);
  if (holder && holder.host === thisHost && !holderAlive(holder)) return `its holder (pid ${holder.pid} on this host) is gone`;
  return undefined;
}

/**
 * Removes what dead captures and restores left behind: mover pods, clone
 * claims and VolumeSnapshots carrying Lifeboat's capture or restore labels
 * whose holder process (on this host) is gone, or whose heartbeat stopped
 * two minutes ago. Objects without those labels are never touched. Errors
 * are logged, not thrown: a capture goes on without the sweep.
 */
export async function sweepMovers(kube: KubeClient, options: { log?: Logger; signal?: AbortSignal } = {}): Promise<{ removed: string[] }> {
  const log = options.log ?? silentLogger;
  const removed: string[] = [];
  const kinds: Array<[string, string]> = [
    ['v1', 'Pod'],
    ['v1', 'PersistentVolumeClaim'],
    ['snapshot.storage.k8s.io/v1', 'VolumeSnapshot'],
  ];
  const purposes: Array<[selector: string, what: string]> = [
    [CAPTURE_SELECTOR, 'capture'],
    [RESTORE_SELECTOR, 'restore'],
  ];
  for (const [apiVersion, kind] of kinds) {
    let resource: ApiResource | undefined;
    try {
      resource = await kube.resourceFor(apiVersion, kind, { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw new CancelledError();
      log.log('debug', `leftover ${kind}s of earlier captures and restores not looked for: ${(err as Error).message}`);
      continue;
    }
    if (!resource) continue;
    for (const [selector, what] of purposes) {
      let items: KObject[];
      try {
        items = await kube.listAll(resource, { labelSelector: selector, signal: options.signal });
      } catch (err) {
        if (options.signal?.aborted) throw new CancelledError();
        log.log('debug', `leftover ${kind}s of earlier ${what}s not looked for: ${(err as Error).message}`);
        continue;
      }
      for (const obj of items) {
        if (obj.metadata.labels?.[MANAGED_BY_LABEL] !== 'lifeboat' || obj.metadata.labels?.[MOVER_LABEL] !== what) continue;
        const why = leftoverReason(obj);
        if (!why) continue;
        const label = `${kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
        try {
          await kube.delete(resource, obj.metadata.name, obj.metadata.namespace, kind === 'Pod' ? { gracePeriodSeconds: 0 } : {});
          removed.push(label);
          log.log('info', `removed ${label} left by an earlier ${what}: ${why}`);
        } catch (err) {
          log.log('warn', `${label} was left by an earlier ${what} (${why}) but could not be removed: ${(err as Error).message}`);
        }
      }
    }
  }
  return { removed };
}
