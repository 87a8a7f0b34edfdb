import * as vscode from 'vscode';
import type { ExistingPolicy, RestoreRequest, RestoreResult } from '../../engine/restore/types';
import { ClusterContextsRequest, RestoreProfilesRequest } from '../../protocol/worker';
import type { Host } from '../host';
import { RestorePlanPanel, type PlanPanelDeps } from '../panels/restorePlan';
import { isProductionContext, kubeconfigSetting, moverImageSetting, parallelismSetting, productionPatternSetting, profilesFolderSetting } from '../settings';
import type { SnapshotBrowser } from '../snapshotBrowser';
import { describeScope, type SnapshotTreeNode } from '../views/snapshots';

/**
 * `lifeboat.showRestorePlan` (Show Restore Plan) and `lifeboat.restore`
 * (Restore…): from a snapshot in the Snapshots view or the palette, ask for
 * the snapshot, the target context (current first, production marked), the
 * profile, the namespace mapping and the policy for existing objects, then
 * open the plan panel. Restore… goes on to Apply once the plan is shown.
 */

export interface RestoreChoice {
  key: string;
  snapshot: string;
  context: string;
  profile: string;
  namespaceMapping: Record<string, string>;
  existing: ExistingPolicy;
  production: boolean;
}

/** "shop:shop-dev, billing:billing-dev" → a mapping; throws naming the entry that is not SOURCE:TARGET. */
export function parseNamespaceMapping(text: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(entry);
    if (!m) throw new Error(`"${entry}" is not SOURCE:TARGET with two namespace names (lowercase letters, digits, "-")`);
    mapping[m[1]] = m[3];
  }
  return mapping;
}

export function formatNamespaceMapping(mapping: Record<string, string> | undefined): string {
  return Object.entries(mapping ?? {})
    .map(([a, b]) => `${a}:${b}`)
    .join(', ');
}

const POLICIES: Array<{ label: string; detail: string; policy: ExistingPolicy }> = [
  { label: 'Update existing objects', detail: 'Server-side apply over what exists; conflicts are reported, not forced', policy: 'update' },
  { label: 'Skip existing objects', detail: 'Create only what is missing; leave existing objects and volumes as they are', policy: 'skip' },
  { label: 'Recreate what cannot be updated', detail: 'Update, and delete then create objects whose changes the server refuses in place', policy: 'recreate' },
];

/** The snapshot a command was invoked on, or the one picked from a repository. */
async function chooseSnapshot(host: Host, browser: SnapshotBrowser, node: SnapshotTreeNode | undefined, title: string): Promise<{ key: string; id: string } | undefined> {
  if (node?.type === 'snapshot') return { key: node.key, id: node.snapshot.id };
  const repositories = browser.list();
  const key =
    repositories.length === 1
      ? repositories[0].key
      : (await host.showQuickPick(repositories.map((r) => ({ label: r.name, description: r.location, key: r.key })), { title: `${title}: from which repository?` }))?.key;
  if (!key) return undefined;
  const { snapshots } = await browser.snapshots(key);
  if (snapshots.length === 0) throw new Error('the repository holds no snapshots yet: capture one first');
  const picked = await host.showQuickPick(
    [...snapshots].reverse().map((s) => ({
      label: new Date(s.time).toLocaleString(),
      description: `${s.cluster} · ${describeScope(s.scope)}`,
      detail: `${s.id.slice(0, 12)} · ${s.counts.resources} objects, ${s.counts.volumes} volumes`,
      id: s.id,
    })),
    { title: `${title}: which snapshot?`, matchOnDescription: true, matchOnDetail: true },
  );
  return picked ? { key, id: picked.id } : undefined;
}

export async function chooseRestore(deps: PlanPanelDeps, node: SnapshotTreeNode | undefined, title: string): Promise<RestoreChoice | undefined> {
  const { host, worker, browser } = deps;
  const snapshot = await chooseSnapshot(host, browser, node, title);
  if (!snapshot) return undefined;
  const kubeconfig = kubeconfigSetting();
  const { contexts } = await worker.request(ClusterContextsRequest, kubeconfig ? { kubeconfig } : {});
  const contextPick = await host.showQuickPick(
    contexts.map((c) => {
      const production = isProductionContext(c.name);
      return {
        label: c.name,
        description: [c.current ? 'current' : '', production ? '$(warning) production' : '', c.server].filter(Boolean).join(' · '),
        production,
      };
    }),
    { title: `${title}: into which context?` },
  );
  if (!contextPick) return undefined;
  const { profiles } = await worker.request(RestoreProfilesRequest, { profilesDir: profilesFolderSetting() });
  const profilePick = await host.showQuickPick(
    profiles.map((p) => ({
      label: p.name,
      description: p.error ? '$(error) invalid' : p.builtIn ? 'built in' : p.file,
      detail: p.error ?? p.description,
      profile: p,
    })),
    { title: `${title}: with which restore profile?` },
  );
  if (!profilePick) return undefined;
  if (profilePick.profile.error) throw new Error(`profile ${profilePick.profile.name} cannot be used: ${profilePick.profile.error}`);
  const mappingText = await host.showInputBox({
    title: `${title}: namespace mapping`,
    prompt: 'SOURCE:TARGET pairs separated by commas (empty: namespaces keep their names)',
    placeHolder: 'shop:shop-dev, billing:billing-dev',
    value: formatNamespaceMapping(profilePick.profile.namespaceMapping),
    validateInput: (v) => {
      try {
        parseNamespaceMapping(v);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  if (mappingText === undefined) return undefined;
  const policy = await host.showQuickPick(POLICIES, { title: `${title}: objects that already exist in ${contextPick.label}?` });
  if (!policy) return undefined;
  return {
    key: snapshot.key,
    snapshot: snapshot.id,
    context: contextPick.label,
    profile: profilePick.profile.name,
    namespaceMapping: parseNamespaceMapping(mappingText),
    existing: policy.policy,
    production: contextPick.production,
  };
}

export function restoreRequestOf(choice: RestoreChoice): RestoreRequest & { snapshot: string; context: string } {
  const kubeconfig = kubeconfigSetting();
  const moverImage = moverImageSetting();
  const parallelism = parallelismSetting();
  const productionPattern = productionPatternSetting();
  const profilesDir = profilesFolderSetting();
  return {
    snapshot: choice.snapshot,
    context: choice.context,
    profile: choice.profile,
    existing: choice.existing,
    ...(Object.keys(choice.namespaceMapping).length ? { namespaceMapping: choice.namespaceMapping } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(moverImage ? { moverImage } : {}),
    ...(parallelism ? { parallelism } : {}),
    ...(productionPattern ? { productionPattern } : {}),
    ...(profilesDir ? { profilesDir } : {}),
  };
}

/** The open plan panels, for the commands and the extension's tests. */
export class RestoreFeature implements vscode.Disposable {
  readonly panels = new Set<RestorePlanPanel>();

  constructor(private readonly deps: PlanPanelDeps) {}

  /** Asks for the restore and opens its plan panel; undefined when the user stopped. */
  async showPlan(node: SnapshotTreeNode | undefined, title = 'Show Restore Plan'): Promise<RestorePlanPanel | undefined> {
    try {
      const choice = await chooseRestore(this.deps, node, title);
      if (!choice) return undefined;
      const panel = RestorePlanPanel.open(this.deps, {
        key: choice.key,
        request: restoreRequestOf(choice),
        summary: { snapshot: choice.snapshot, context: choice.context, profile: choice.profile, policy: choice.existing, namespaceMapping: choice.namespaceMapping },
        production: choice.production,
      });
      this.panels.add(panel);
      panel.onDisposed(() => this.panels.delete(panel));
      return panel;
    } catch (err) {
      void this.deps.host.showErrorMessage(`${title}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /** Restore…: the plan panel, then Apply (which confirms naming the context). */
  async restore(node: SnapshotTreeNode | undefined): Promise<RestoreResult | undefined> {
    const panel = await this.showPlan(node, 'Restore');
    if (!panel) return undefined;
    const plan = await panel.refresh();
    return plan ? panel.apply() : undefined;
  }

  dispose(): void {
    for (const p of [...this.panels]) p.dispose();
  }
}
