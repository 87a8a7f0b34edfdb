import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';
import { sideBySide } from '../../src/engine/restore/sideBySide';
import { PLAN_ACTIONS, type PlanAction, type PlanItem, type RestorePlan } from '../../src/engine/restore/types';
import type { PlanPanelApplied, PlanPanelCommand, PlanPanelRequest, PlanPanelUpdate } from '../../src/protocol/webview';
import { append, clear, formatBytes, h, vscode } from '../common/dom';

/**
 * The restore plan page: target (with a production banner), counts per
 * action, filters, the objects table with action badges, a side-by-side
 * YAML diff of the selected object (live ↔ desired, line-aligned by the
 * same line diff the planner uses), volumes, warnings, Refresh Plan and
 * Apply. State arrives from the extension as PlanPanelUpdate messages.
 */

interface State {
  request?: PlanPanelRequest;
  production: boolean;
  plan?: RestorePlan;
  applied?: PlanPanelApplied;
  busy?: 'planning' | 'applying';
  error?: string;
  action: PlanAction | 'all';
  text: string;
  selected?: number;
}

const state: State = { production: false, action: 'all', text: '' };
const root = document.getElementById('root')!;

function send(message: PlanPanelCommand): void {
  vscode().postMessage(message);
}

const ACTION_WORDS: Record<PlanAction, string> = {
  create: 'create',
  update: 'update',
  unchanged: 'unchanged',
  conflict: 'conflict',
  forbidden: 'forbidden',
  invalid: 'invalid',
};

function badge(action: string): HTMLElement {
  return h('vscode-badge', { class: `action action-${action}`, variant: 'default' }, action);
}

function identity(item: PlanItem): string {
  return `${item.namespace ? `${item.namespace}/` : ''}${item.name}`;
}

function visibleItems(plan: RestorePlan): Array<{ item: PlanItem; index: number }> {
  const text = state.text.trim().toLowerCase();
  return plan.items
    .map((item, index) => ({ item, index }))
    .filter(({ item }) => state.action === 'all' || item.action === state.action)
    .filter(({ item }) => !text || `${item.kind} ${item.group} ${identity(item)} ${item.message ?? ''} ${(item.notes ?? []).join(' ')}`.toLowerCase().includes(text));
}

function renderTarget(): HTMLElement {
  const plan = state.plan;
  const context = plan?.target.context ?? state.request?.context ?? '';
  const production = plan?.target.production ?? state.production;
  const section = h('section', { class: 'target' });
  if (production) {
    append(
      section,
      h('div', { class: 'banner banner-production', role: 'alert' }, `Production context: ${context}. Applying writes to a cluster that matches the production pattern; you will be asked to type its name.`),
    );
  }
  append(section, h('div', { class: 'target-label' }, 'Restore into'), h('h1', { class: 'target-context' }, context));
  if (plan) append(section, h('div', { class: 'target-cluster' }, `cluster ${plan.target.cluster} · ${plan.target.server}`));
  const r = state.request;
  const mapping = Object.entries(r?.namespaceMapping ?? {})
    .map(([a, b]) => `${a} → ${b}`)
    .join(', ');
  const facts: string[] = [];
  if (plan) facts.push(`snapshot ${plan.snapshot.id.slice(0, 12)} of ${plan.snapshot.cluster}, ${new Date(plan.snapshot.time).toLocaleString()}`);
  else if (r) facts.push(`snapshot ${r.snapshot.slice(0, 12)}`);
  facts.push(`profile ${plan?.profile ?? r?.profile ?? ''}`, `existing objects: ${plan?.policy ?? r?.policy ?? ''}`);
  if (mapping) facts.push(`namespaces ${mapping}`);
  append(section, h('div', { class: 'target-facts' }, facts.join(' · ')));
  return section;
}

function renderToolbar(): HTMLElement {
  const bar = h('section', { class: 'toolbar' });
  const refresh = h('vscode-button', { id: 'refresh', secondary: true, disabled: !!state.busy }, 'Refresh Plan');
  refresh.addEventListener('click', () => send({ type: 'refresh' }));
  const apply = h('vscode-button', { id: 'apply', disabled: !!state.busy || !state.plan }, 'Apply');
  apply.addEventListener('click', () => send({ type: 'apply' }));
  append(bar, refresh, apply);
  if (state.busy) append(bar, h('span', { class: 'busy', role: 'status' }, state.busy === 'planning' ? 'Planning against the live cluster…' : 'Applying… (progress in the notification and the Jobs view)'));
  return bar;
}

function renderCounts(plan: RestorePlan): HTMLElement {
  const counts = h('section', { class: 'counts', 'aria-label': 'Objects per action' });
  for (const a of PLAN_ACTIONS) {
    const chip = h('button', { class: `count count-${a}${state.action === a ? ' selected' : ''}`, 'data-action': a, title: `Show only objects to ${a}` }, h('span', { class: 'count-number' }, plan.counts[a]), ` ${ACTION_WORDS[a]}`);
    chip.addEventListener('click', () => {
      state.action = state.action === a ? 'all' : a;
      render();
    });
    append(counts, chip);
  }
  return counts;
}

function renderFilters(): HTMLElement {
  const select = h('vscode-single-select', { id: 'action-filter', 'aria-label': 'Filter by action' });
  append(select, h('vscode-option', { value: 'all', selected: state.action === 'all' }, 'All actions'));
  for (const a of PLAN_ACTIONS) append(select, h('vscode-option', { value: a, selected: state.action === a }, ACTION_WORDS[a]));
  select.addEventListener('change', () => {
    state.action = ((select as unknown as { value: string }).value || 'all') as State['action'];
    render();
  });
  const text = h('vscode-textfield', { id: 'text-filter', placeholder: 'Filter by kind, namespace, name, message', value: state.text });
  text.addEventListener('input', () => {
    state.text = (text as unknown as { value: string }).value ?? '';
    renderTable();
  });
  return h('section', { class: 'filters' }, select, text);
}

let tableHost: HTMLElement | undefined;
let diffHost: HTMLElement | undefined;

function renderTable(): void {
  if (!tableHost || !state.plan) return;
  clear(tableHost);
  const rows = visibleItems(state.plan);
  const table = h('vscode-table', { class: 'items', zebra: true, 'bordered-rows': true, resizable: true, columns: JSON.stringify(['17%', '16%', '17%', '22%', '28%']) });
  const header = h('vscode-table-header', { slot: 'header' });
  for (const title of ['Action', 'Kind', 'Namespace', 'Name', 'Notes']) append(header, h('vscode-table-header-cell', {}, title));
  const body = h('vscode-table-body', { slot: 'body' });
  for (const { item, index } of rows) {
    const row = h(
      'vscode-table-row',
      { class: `item${state.selected === index ? ' selected' : ''}`, 'data-index': String(index), tabindex: '0' },
      h('vscode-table-cell', {}, badge(item.action)),
      h('vscode-table-cell', {}, item.kind),
      h('vscode-table-cell', {}, item.namespace ?? ''),
      h('vscode-table-cell', { class: 'name' }, item.name),
      h('vscode-table-cell', { class: 'notes' }, [item.message, ...(item.notes ?? [])].filter(Boolean).join(' · ')),
    );
    const select = (): void => {
      state.selected = index;
      for (const r of Array.from(body.children)) r.classList.toggle('selected', r === row);
      renderDiff();
    };
    row.addEventListener('click', select);
    row.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') select();
    });
    append(body, row);
  }
  append(table, header, body);
  append(tableHost, h('div', { class: 'table-caption' }, `${rows.length} of ${state.plan.items.length} objects`), table);
}

function renderDiff(): void {
  if (!diffHost) return;
  clear(diffHost);
  const item = state.selected !== undefined ? state.plan?.items[state.selected] : undefined;
  if (!item) {
    append(diffHost, h('p', { class: 'hint' }, 'Select an object to see the live object and what the restore would make of it, side by side.'));
    return;
  }
  append(diffHost, h('h2', {}, `${item.kind} ${identity(item)} `, badge(item.action)));
  if (item.source && (item.source.namespace !== item.namespace || item.source.name !== item.name)) {
    append(diffHost, h('p', { class: 'hint' }, `From ${item.source.namespace ? `${item.source.namespace}/` : ''}${item.source.name} in the snapshot.`));
  }
  if (item.message) append(diffHost, h('p', { class: 'message' }, item.message));
  if (item.live === undefined && item.desired === undefined) {
    const none = item.action === 'unchanged' ? 'Unchanged: the live object already is what the restore writes.' : 'The plan holds no documents for this object.';
    append(diffHost, item.diff ? h('pre', { class: 'unified' }, item.diff) : h('p', { class: 'hint' }, none));
    return;
  }
  const table = h('table', { class: 'diff', 'aria-label': 'Live and desired YAML side by side' });
  // Fixed layout takes its widths from here: narrow line numbers, the two documents sharing the rest.
  append(table, h('colgroup', {}, h('col', { class: 'ln-col' }), h('col', {}), h('col', { class: 'ln-col' }), h('col', {})));
  append(
    table,
    h('thead', {}, h('tr', {}, h('th', { colspan: '2' }, item.live === undefined ? 'Live: does not exist' : 'Live'), h('th', { colspan: '2' }, 'After restore'))),
  );
  const body = h('tbody');
  for (const row of sideBySide(item.live ?? '', item.desired ?? '')) {
    append(
      body,
      h(
        'tr',
        { class: `row-${row.kind}` },
        h('td', { class: 'ln' }, row.left?.line ?? ''),
        h('td', { class: `code left${row.left ? '' : ' empty'}` }, row.left?.text ?? ''),
        h('td', { class: 'ln' }, row.right?.line ?? ''),
        h('td', { class: `code right${row.right ? '' : ' empty'}` }, row.right?.text ?? ''),
      ),
    );
  }
  append(table, body);
  append(diffHost, table);
}

function renderVolumes(plan: RestorePlan): HTMLElement | undefined {
  if (plan.volumes.length === 0) return undefined;
  const table = h('table', { class: 'volumes' });
  append(table, h('thead', {}, h('tr', {}, ...['Action', 'Claim', 'From', 'Files', 'Size', 'Storage class', ''].map((t) => h('th', {}, t)))));
  const body = h('tbody');
  for (const v of plan.volumes) {
    append(
      body,
      h(
        'tr',
        {},
        h('td', {}, badge(v.action)),
        h('td', {}, `${v.namespace}/${v.pvc}`),
        h('td', {}, `${v.source.namespace}/${v.source.pvc}`),
        h('td', { class: 'num' }, v.files),
        h('td', { class: 'num' }, formatBytes(v.bytes)),
        h('td', {}, v.storageClass ?? ''),
        h('td', {}, v.message ?? ''),
      ),
    );
  }
  append(table, body);
  const total = plan.volumes.filter((v) => v.action === 'write').reduce((n, v) => n + v.bytes, 0);
  return h('section', { class: 'volumes-section' }, h('h2', {}, `Volumes (${formatBytes(total)} to write)`), table);
}

function renderApplied(a: PlanPanelApplied): HTMLElement {
  const outcomes = Object.entries(a.outcomes)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const left = a.verify.create + a.verify.update + a.verify.conflict;
  const section = h(
    'section',
    { class: `applied ${a.complete && left === 0 ? 'applied-complete' : 'applied-incomplete'}`, role: 'status' },
    h('h2', {}, a.complete && left === 0 ? 'Restored and verified' : 'Restore incomplete'),
    h('p', {}, `Written: ${outcomes || 'nothing'}.`),
    h('p', { class: 'verify' }, `Verify (planned again): ${PLAN_ACTIONS.filter((x) => a.verify[x] > 0).map((x) => `${a.verify[x]} ${x}`).join(', ') || 'no objects'}.`),
  );
  if (a.failed.length) {
    const list = h('ul');
    for (const f of a.failed) append(list, h('li', {}, `${f.kind} ${f.namespace ? `${f.namespace}/` : ''}${f.name}: ${f.message ?? 'failed'}`));
    append(section, list);
  }
  return section;
}

function renderWarnings(warnings: string[]): HTMLElement | undefined {
  if (warnings.length === 0) return undefined;
  const list = h('ul');
  for (const w of warnings) append(list, h('li', {}, w));
  return h('section', { class: 'warnings' }, h('h2', {}, `Warnings (${warnings.length})`), list);
}

function render(): void {
  clear(root);
  root.setAttribute('aria-busy', state.busy ? 'true' : 'false');
  append(root, renderTarget(), renderToolbar());
  if (state.error) append(root, h('div', { class: 'banner banner-error', role: 'alert' }, state.error));
  const plan = state.plan;
  if (!plan) {
    tableHost = diffHost = undefined;
    return;
  }
  if (state.applied) append(root, renderApplied(state.applied));
  append(root, renderCounts(plan), renderFilters());
  tableHost = h('section', { class: 'items-section' });
  diffHost = h('section', { class: 'diff-section' });
  append(root, h('div', { class: 'split' }, tableHost, diffHost));
  renderTable();
  renderDiff();
  append(root, renderVolumes(plan), renderWarnings([...plan.warnings, ...(state.applied?.warnings ?? [])]));
  append(root, h('footer', {}, `Planned ${new Date(plan.time).toLocaleString()} in ${(plan.durationMs / 1000).toFixed(1)} s`));
}

function firstChanged(plan: RestorePlan): number | undefined {
  const i = plan.items.findIndex((it) => it.action !== 'unchanged');
  return i >= 0 ? i : plan.items.length ? 0 : undefined;
}

window.addEventListener('message', (event: MessageEvent) => {
  const m = event.data as PlanPanelUpdate;
  switch (m?.type) {
    case 'request':
      state.request = m.request;
      state.production = m.production;
      break;
    case 'busy':
      state.busy = m.what;
      state.error = undefined;
      break;
    case 'plan':
    case 'applied':
      state.plan = m.plan;
      state.applied = m.type === 'applied' ? m.applied : undefined;
      state.busy = undefined;
      state.error = undefined;
      state.selected = firstChanged(m.plan);
      break;
    case 'error':
      state.busy = undefined;
      state.error = m.message;
      break;
    default:
      return;
  }
  render();
  if ((m.type === 'plan' || m.type === 'applied') && state.plan) {
    const shown = Object.fromEntries(
      PLAN_ACTIONS.map((a) => [a, Number(root.querySelector(`.count-${a} .count-number`)?.textContent ?? 'NaN')]),
    ) as Record<PlanAction, number>;
    send({ type: 'shown', counts: shown, rows: root.querySelectorAll('vscode-table-row.item').length });
  }
});

render();
send({ type: 'ready' });
