import * as vscode from 'vscode';
import type { Host } from '../host';
import { describeJob, describeProgress, JobHistory, jobLabel, jobLogText, MAX_FINISHED_JOBS, type JobEvent, type JobRecord, type JobState } from '../jobs';
import type { WorkerClient } from '../workerClient';

/**
 * The Jobs view: jobs run through the worker this session (running first,
 * then the last finished ones), their warnings as children, and each job's
 * log as a read-only document of the `lifeboat-job:` scheme.
 */

export type JobNode = { type: 'job'; jobId: string } | { type: 'warning'; jobId: string; index: number; message: string };

export const JOB_LOG_SCHEME = 'lifeboat-job';

const ICONS: Record<JobState, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  succeeded: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  lost: new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('testing.iconFailed')),
};

export function jobLogUri(jobId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: JOB_LOG_SCHEME, path: `/${jobId}.log` });
}

export class JobsProvider implements vscode.TreeDataProvider<JobNode>, vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly history = new JobHistory();
  private readonly changed = new vscode.EventEmitter<JobNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly logChanged = new vscode.EventEmitter<vscode.Uri>();
  /** An open job log has new records. */
  readonly onDidChange = this.logChanged.event;
  private readonly subscription: vscode.Disposable;
  /** Logs with records not yet shown in their open documents; flushed together so a chatty job does not redraw per record. */
  private readonly pendingLogs = new Set<string>();
  private logTimer?: NodeJS.Timeout;
  /** Ticks the running jobs' durations between progress reports. */
  private clock?: NodeJS.Timeout;

  constructor(worker: Pick<WorkerClient, 'onJob'>) {
    this.subscription = worker.onJob((e) => this.onJob(e));
  }

  private onJob(event: JobEvent): void {
    const job = this.history.apply(event);
    if (!job) return;
    if (event.type === 'log') {
      this.pendingLogs.add(job.id);
      this.logTimer ??= setTimeout(() => this.flushLogs(), 300);
      return;
    }
    // A start or an end changes the list's order; progress and warnings change one item.
    this.changed.fire(event.type === 'started' || event.type === 'finished' ? undefined : { type: 'job', jobId: job.id });
    if (event.type === 'finished') this.pendingLogs.add(job.id);
    this.updateClock();
  }

  private flushLogs(): void {
    this.logTimer = undefined;
    for (const id of this.pendingLogs) this.logChanged.fire(jobLogUri(id));
    this.pendingLogs.clear();
  }

  private updateClock(): void {
    const running = this.history.running().length > 0;
    if (running && !this.clock) {
      this.clock = setInterval(() => {
        for (const j of this.history.running()) this.changed.fire({ type: 'job', jobId: j.id });
      }, 1000);
    } else if (!running && this.clock) {
      clearInterval(this.clock);
      this.clock = undefined;
    }
  }

  job(node: JobNode | string): JobRecord | undefined {
    return this.history.get(typeof node === 'string' ? node : node.jobId);
  }

  getChildren(node?: JobNode): JobNode[] {
    if (!node) return this.history.jobs().map((j) => ({ type: 'job', jobId: j.id }));
    if (node.type !== 'job') return [];
    const job = this.history.get(node.jobId);
    if (!job || job.state === 'running') return [];
    return job.warnings.map((message, index) => ({ type: 'warning', jobId: job.id, index, message }));
  }

  getTreeItem(node: JobNode): vscode.TreeItem {
    if (node.type === 'warning') {
      const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
      item.tooltip = node.message;
      item.contextValue = 'lifeboat.jobWarning';
      return item;
    }
    const job = this.history.get(node.jobId);
    if (!job) return new vscode.TreeItem('(gone)');
    const collapsible = job.state !== 'running' && job.warnings.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(jobLabel(job), collapsible);
    item.id = job.id;
    item.description = describeJob(job, Date.now());
    item.iconPath = ICONS[job.state];
    item.contextValue = `lifeboat.job.${job.state}`;
    const tooltip = [job.title, describeJob(job, Date.now())];
    if (job.state === 'running' && job.progress) tooltip.push(describeProgress(job.progress));
    if (job.message) tooltip.push(job.message);
    item.tooltip = tooltip.join('\n');
    item.command = { command: 'lifeboat.showJobLog', title: 'Show Job Log', arguments: [node] };
    return item;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const jobId = uri.path.replace(/^\//, '').replace(/\.log$/, '');
    const job = this.history.get(jobId);
    return job ? jobLogText(job, Date.now()) : `# job ${jobId} is no longer kept (the last ${MAX_FINISHED_JOBS} finished jobs are)\n`;
  }

  dispose(): void {
    this.subscription.dispose();
    if (this.logTimer) clearTimeout(this.logTimer);
    if (this.clock) clearInterval(this.clock);
    this.changed.dispose();
    this.logChanged.dispose();
  }
}

export interface JobsFeature {
  provider: JobsProvider;
  view: vscode.TreeView<JobNode>;
}

/** The Jobs view, the lifeboat-job: documents, and the showJobLog and cancelJob commands. */
export function registerJobs(context: vscode.ExtensionContext, worker: WorkerClient, host: Host): JobsFeature {
  const provider = new JobsProvider(worker);
  const view = vscode.window.createTreeView('lifeboat.jobs', { treeDataProvider: provider });
  context.subscriptions.push(provider, view, vscode.workspace.registerTextDocumentContentProvider(JOB_LOG_SCHEME, provider));

  /** The job a command was given (a node or a job id), else one the user picks. */
  const chosen = async (arg: unknown, only?: (j: JobRecord) => boolean): Promise<JobRecord | undefined> => {
    if (typeof arg === 'string') return provider.job(arg);
    if (arg && typeof arg === 'object' && 'jobId' in arg) return provider.job((arg as JobNode).jobId);
    const jobs = provider.history.jobs().filter(only ?? (() => true));
    if (jobs.length === 0) {
      void host.showInformationMessage('No Lifeboat jobs have run in this window yet.');
      return undefined;
    }
    const picked = await host.showQuickPick(
      jobs.map((j) => ({ label: jobLabel(j), description: describeJob(j, Date.now()), job: j })),
      { title: 'Lifeboat job' },
    );
    return picked?.job;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('lifeboat.showJobLog', async (arg: unknown) => {
      const job = await chosen(arg);
      if (!job) return undefined;
      const doc = await vscode.workspace.openTextDocument(jobLogUri(job.id));
      return vscode.window.showTextDocument(doc, { preview: true });
    }),
    vscode.commands.registerCommand('lifeboat.cancelJob', async (arg: unknown) => {
      const job = await chosen(arg, (j) => j.state === 'running');
      if (!job) return false;
      if (job.state !== 'running' || !worker.cancelJob(job.id)) {
        void host.showInformationMessage(`${jobLabel(job)} is not running any more.`);
        return false;
      }
      return true;
    }),
  );
  return { provider, view };
}
