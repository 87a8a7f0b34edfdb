import * as vscode from 'vscode';
import type { RestorePlan, RestoreRequest, RestoreResult } from '../../engine/restore/types';
import { RestoreApplyRequest, RestorePlanRequest } from '../../protocol/worker';
import { parseWebviewMessage, type PlanPanelApplied, type PlanPanelCommand, type PlanPanelRequest, type PlanPanelUpdate } from '../../protocol/webview';
import type { Host } from '../host';
import type { SnapshotBrowser } from '../snapshotBrowser';
import { isCancelled, WorkerLostError, type WorkerClient } from '../workerClient';
import { panelHtml, panelOptions } from './webviewHtml';

/**
 * The restore plan panel: what a restore of a snapshot would do to a
 * target context (counts, objects with their actions and side-by-side
 * YAML, volumes, warnings), with Refresh Plan and Apply. The plan comes
 * from the worker's restore/plan with documents; Apply confirms naming the
 * context (typing it for production) and runs restore/apply as a job, then
 * shows the verify plan it returns.
 */

/** What the panel restores: a snapshot of a repository into the request's context. */
export interface PlanPanelTarget {
  /** The repository's key (SnapshotBrowser). */
  key: string;
  request: RestoreRequest & { snapshot: string; context: string };
  /** Shown in the header: the profile's name, the policy, the mapping. */
  summary: PlanPanelRequest;
  production: boolean;
}

export interface PlanPanelDeps {
  extensionUri: vscode.Uri;
  worker: WorkerClient;
  host: Host;
  browser: SnapshotBrowser;
  output: vscode.LogOutputChannel;
}

/** Counts per action in words: "3 to create, 1 to update, 12 unchanged". */
export function describeCounts(counts: RestorePlan['counts']): string {
  const words: Record<keyof RestorePlan['counts'], string> = {
    create: 'to create',
    update: 'to update',
    unchanged: 'unchanged',
    conflict: 'in conflict',
    forbidden: 'forbidden',
    invalid: 'invalid',
  };
  const parts = (Object.keys(words) as Array<keyof typeof words>).filter((a) => counts[a] > 0).map((a) => `${counts[a]} ${words[a]}`);
  return parts.length ? parts.join(', ') : 'no objects';
}

/** The outcome of an apply for the panel: writes per outcome, the failures, the verify counts. */
export function appliedOf(result: RestoreResult): PlanPanelApplied {
  const outcomes: PlanPanelApplied['outcomes'] = {};
  for (const r of result.record) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  return {
    complete: result.complete,
    outcomes,
    failed: result.record.filter((r) => r.outcome === 'failed').map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name, message: r.message })),
    verify: result.verify.counts,
    warnings: result.warnings,
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class RestorePlanPanel implements vscode.Disposable {
  static readonly viewType = 'lifeboat.restorePlan';

  /** The latest plan (after an apply: its verify plan). */
  plan?: RestorePlan;
  /** The latest apply's outcome. */
  applied?: PlanPanelApplied;
  /** What the page last reported rendering. */
  shown?: Extract<PlanPanelCommand, { type: 'shown' }>;
  private busy?: Promise<unknown>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly shownEmitter = new vscode.EventEmitter<Extract<PlanPanelCommand, { type: 'shown' }>>();
  /** The page rendered a plan. */
  readonly onShown = this.shownEmitter.event;
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDisposed = this.disposedEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: PlanPanelDeps,
    readonly target: PlanPanelTarget,
  ) {
    panel.webview.html = panelHtml(panel.webview, deps.extensionUri, 'restorePlan', panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Opens a panel for a restore and starts planning. */
  static open(deps: PlanPanelDeps, target: PlanPanelTarget): RestorePlanPanel {
    const title = `Restore ${target.request.snapshot.slice(0, 8)} → ${target.request.context}`;
    const panel = vscode.window.createWebviewPanel(RestorePlanPanel.viewType, title, vscode.ViewColumn.Active, panelOptions(deps.extensionUri));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'lifeboat-activity.svg');
    const p = new RestorePlanPanel(panel, deps, target);
    void p.refresh();
    return p;
  }

  private post(update: PlanPanelUpdate): void {
    void this.panel.webview.postMessage(update);
  }

  private receive(raw: unknown): void {
    let message: PlanPanelCommand;
    try {
      message = parseWebviewMessage('restorePlan', raw);
    } catch (err) {
      // A page of ours sends nothing else: anything refused is logged, never acted on.
      this.deps.output.warn(`restore plan panel: refused a message from the page: ${messageOf(err)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.post({ type: 'request', request: this.target.summary, production: this.target.production });
        if (this.busy) this.post({ type: 'busy', what: 'planning' });
        if (this.plan && this.applied) this.post({ type: 'applied', applied: this.applied, plan: this.plan });
        else if (this.plan) this.post({ type: 'plan', plan: this.plan });
        return;
      case 'refresh':
        void this.refresh();
        return;
      case 'apply':
        void this.apply();
        return;
      case 'shown':
        this.shown = message;
        this.shownEmitter.fire(message);
        return;
    }
  }

  private async repository() {
    const ref = await this.deps.browser.ref(this.target.key);
    if (!ref) throw new Error('no passphrase was given for the repository');
    return ref;
  }

  /** Plans again (Refresh Plan); resolves with the plan, or undefined when it failed (the panel shows why). */
  refresh(): Promise<RestorePlan | undefined> {
    if (this.busy) return this.busy.then(() => this.plan);
    const { request } = this.target;
    const run = (async () => {
      this.post({ type: 'busy', what: 'planning' });
      try {
        const repository = await this.repository();
        const { result } = await this.deps.worker.runJob(
          RestorePlanRequest,
          { repository, request, documents: true },
          `Lifeboat: planning the restore of ${request.snapshot.slice(0, 12)} to ${request.context}`,
        );
        this.plan = result;
        this.applied = undefined;
        this.post({ type: 'plan', plan: result });
        return result;
      } catch (err) {
        this.post({ type: 'error', message: isCancelled(err) ? 'Planning was cancelled: Refresh Plan to plan again.' : `Planning failed: ${messageOf(err)}` });
        return undefined;
      }
    })();
    this.busy = run.finally(() => (this.busy = undefined));
    return run;
  }

  /**
   * Apply: confirms naming the context (for production, the user types its
   * name), runs restore/apply as a job, shows its verify plan. Resolves
   * with the result, or undefined when declined, cancelled or failed.
   */
  async apply(): Promise<RestoreResult | undefined> {
    if (this.busy) await this.busy;
    const plan = this.plan ?? (await this.refresh());
    if (!plan) return undefined;
    const { host } = this.deps;
    const context = plan.target.context;
    const volumes = plan.volumes.filter((v) => v.action === 'write');
    const what = `${describeCounts(plan.counts)}${volumes.length ? `; data of ${volumes.length} volume${volumes.length === 1 ? '' : 's'} written` : ''}`;
    const production = plan.target.production;
    const confirmed = await host.confirm(
      `Restore snapshot ${plan.snapshot.id.slice(0, 12)} into ${production ? 'the PRODUCTION context ' : ''}${context}?`,
      `Cluster ${plan.target.cluster} (${plan.target.server}), profile ${plan.profile}, existing objects: ${plan.policy}. ${what}.`,
      'Restore',
    );
    if (!confirmed) return undefined;
    if (production) {
      const typed = await host.showInputBox({
        title: `Type ${context} to restore into this production context`,
        prompt: `${context} matches the production pattern (lifeboat.productionContextPattern)`,
        ignoreFocusOut: true,
        validateInput: (v) => (v === context ? undefined : `Type the context name exactly: ${context}`),
      });
      if (typed !== context) return undefined;
    }
    const run = (async () => {
      this.post({ type: 'busy', what: 'applying' });
      const label = `snapshot ${plan.snapshot.id.slice(0, 12)} into ${context}`;
      try {
        const repository = await this.repository();
        const { result } = await this.deps.worker.runJob(
          RestoreApplyRequest,
          { repository, request: this.target.request, confirmContext: context },
          `Lifeboat: restoring ${label}`,
        );
        this.plan = result.verify;
        this.applied = appliedOf(result);
        this.post({ type: 'applied', applied: this.applied, plan: result.verify });
        const left = result.verify.counts.create + result.verify.counts.update + result.verify.counts.conflict;
        if (result.complete && left === 0) void host.showInformationMessage(`Restored ${label}: verified, nothing left to change.`);
        else void host.showWarningMessage(`Restore of ${label} finished incomplete: ${describeCounts(result.verify.counts)} after verify. See the plan panel.`);
        return result;
      } catch (err) {
        if (err instanceof WorkerLostError) {
          this.post({ type: 'error', message: `${err.message}. Apply again: a re-run completes what was written.` });
          return undefined;
        }
        const text = isCancelled(err) ? `Restore of ${label} cancelled: Refresh Plan to see what was written.` : `Restore of ${label} failed: ${messageOf(err)}`;
        this.post({ type: 'error', message: text });
        if (!isCancelled(err)) void host.showErrorMessage(text);
        return undefined;
      }
    })();
    this.busy = run.finally(() => (this.busy = undefined));
    return run;
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposedEmitter.fire();
    this.shownEmitter.dispose();
    this.disposedEmitter.dispose();
  }
}
