import * as vscode from 'vscode';
import { groupKey } from '../../engine/repo/retention';
import { parseWebviewMessage, type OverviewCommand, type OverviewUpdate } from '../../protocol/webview';
import type { SnapshotBrowser } from '../snapshotBrowser';
import { panelHtml, panelOptions } from './webviewHtml';

/**
 * The snapshot overview panel: a snapshot's contents by namespace and kind,
 * its volumes with sizes, how much it added to the repository (dedup), and
 * a chart of sizes and durations of the snapshots of the same cluster and
 * scope over time. Everything comes from snapshots/contents and
 * snapshots/list; the page draws the chart itself (SVG).
 */
export class SnapshotOverviewPanel implements vscode.Disposable {
  static readonly viewType = 'lifeboat.snapshotOverview';
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  /** The last state sent, for the extension's tests. */
  overview?: OverviewUpdate;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly browser: SnapshotBrowser,
    private readonly key: string,
    private readonly snapshot: string,
    private readonly output: vscode.LogOutputChannel,
    extensionUri: vscode.Uri,
  ) {
    panel.webview.html = panelHtml(panel.webview, extensionUri, 'overview', panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  static open(extensionUri: vscode.Uri, browser: SnapshotBrowser, output: vscode.LogOutputChannel, key: string, snapshot: string): SnapshotOverviewPanel {
    const panel = vscode.window.createWebviewPanel(SnapshotOverviewPanel.viewType, `Snapshot ${snapshot.slice(0, 8)}`, vscode.ViewColumn.Active, panelOptions(extensionUri));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'lifeboat-activity.svg');
    return new SnapshotOverviewPanel(panel, browser, key, snapshot, output, extensionUri);
  }

  private receive(raw: unknown): void {
    let message: OverviewCommand;
    try {
      message = parseWebviewMessage('overview', raw);
    } catch (err) {
      this.output.warn(`snapshot overview panel: refused a message from the page: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (message.type === 'ready' || message.type === 'refresh') void this.load();
  }

  /** Reads the snapshot's contents and its repository's list, and sends them to the page. */
  async load(): Promise<OverviewUpdate> {
    let update: OverviewUpdate;
    try {
      const [contents, list] = await Promise.all([this.browser.snapshotContents(this.key, this.snapshot), this.browser.snapshots(this.key)]);
      const mine = contents.snapshot;
      const group = groupKey(mine);
      const history = list.snapshots
        .filter((s) => groupKey(s) === group)
        .map((s) => ({ id: s.id, time: s.time, bytes: s.sizes.bytes, added: s.sizes.added, durationMs: s.durationMs }));
      const totals = list.snapshots.reduce((t, s) => ({ snapshots: t.snapshots + 1, bytes: t.bytes + s.sizes.bytes, added: t.added + s.sizes.added }), { snapshots: 0, bytes: 0, added: 0 });
      update = {
        type: 'overview',
        snapshot: mine,
        repository: this.browser.repository(this.key)?.name ?? '',
        contents: { namespaces: contents.namespaces, volumes: contents.volumes, data: contents.data },
        history,
        repositoryTotals: totals,
      };
    } catch (err) {
      update = { type: 'error', message: `Cannot read snapshot ${this.snapshot.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}` };
    }
    this.overview = update;
    if (!this.disposed) void this.panel.webview.postMessage(update);
    return update;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
