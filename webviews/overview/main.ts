import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { OverviewCommand, OverviewPoint, OverviewUpdate } from '../../src/protocol/webview';
import { append, clear, formatBytes, formatDuration, h, vscode } from '../common/dom';

/**
 * The snapshot overview page: what the snapshot holds by namespace and
 * kind, its volumes, what it added to the repository (its dedup ratio, and
 * the repository's), and an SVG chart of the sizes and durations of the
 * snapshots of the same cluster and scope over time.
 */

const root = document.getElementById('root')!;
const SVG = 'http://www.w3.org/2000/svg';

function send(message: OverviewCommand): void {
  vscode().postMessage(message);
}

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** "4.2×" for bytes over added; "∞" when nothing was added. */
function ratio(bytes: number, added: number): string {
  if (bytes === 0) return '—';
  return added === 0 ? '∞ (nothing new)' : `${(bytes / added).toFixed(1)}×`;
}

/**
 * Two series over time: logical size (bars: the size, the part it added
 * darker) against the left axis, and capture duration (a line with dots)
 * against the right one. The snapshot shown is outlined.
 */
function chart(points: OverviewPoint[], current: string): SVGElement {
  const width = 720;
  const height = 240;
  const pad = { left: 64, right: 56, top: 16, bottom: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const maxBytes = Math.max(1, ...points.map((p) => p.bytes));
  const maxMs = Math.max(1, ...points.map((p) => p.durationMs));
  const slot = plotW / Math.max(1, points.length);
  const bar = Math.max(2, Math.min(40, slot * 0.6));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': 'Snapshot sizes and durations over time' });
  append(root, svg('title', {}, 'Sizes (bars) and capture durations (line) of the snapshots of this cluster and scope'));
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + plotH - (plotH * i) / 4;
    append(root, svg('line', { x1: pad.left, x2: pad.left + plotW, y1: y, y2: y, class: 'grid' }));
    append(root, svg('text', { x: pad.left - 6, y: y + 4, class: 'axis axis-left' }, formatBytes((maxBytes * i) / 4)));
    append(root, svg('text', { x: pad.left + plotW + 6, y: y + 4, class: 'axis axis-right' }, formatDuration((maxMs * i) / 4)));
  }
  const line: string[] = [];
  points.forEach((p, i) => {
    const cx = pad.left + slot * i + slot / 2;
    const hBytes = (plotH * p.bytes) / maxBytes;
    const hAdded = (plotH * Math.min(p.added, p.bytes)) / maxBytes;
    const g = svg('g', { class: `point${p.id === current ? ' current' : ''}` });
    append(g, svg('title', {}, `${new Date(p.time).toLocaleString()} · ${formatBytes(p.bytes)} (${formatBytes(p.added)} new) · ${formatDuration(p.durationMs)}`));
    append(g, svg('rect', { x: cx - bar / 2, y: pad.top + plotH - hBytes, width: bar, height: Math.max(0.5, hBytes), class: 'bar-bytes' }));
    append(g, svg('rect', { x: cx - bar / 2, y: pad.top + plotH - hAdded, width: bar, height: hAdded, class: 'bar-added' }));
    append(root, g);
    const y = pad.top + plotH - (plotH * p.durationMs) / maxMs;
    line.push(`${cx.toFixed(1)},${y.toFixed(1)}`);
    append(root, svg('circle', { cx, cy: y, r: 3, class: 'dot-duration' }));
    if (points.length <= 12 || i === 0 || i === points.length - 1) {
      const d = new Date(p.time);
      append(root, svg('text', { x: cx, y: height - pad.bottom + 16, class: 'axis axis-time' }, `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`));
    }
  });
  if (line.length > 1) append(root, svg('polyline', { points: line.join(' '), class: 'line-duration' }));
  append(root, svg('text', { x: pad.left, y: height - 6, class: 'legend' }, '▮ size  ▮ new data  ● capture duration (right axis)'));
  return root;
}

function render(m: OverviewUpdate): void {
  clear(root);
  root.setAttribute('aria-busy', 'false');
  if (m.type === 'error') {
    append(root, h('div', { class: 'banner banner-error', role: 'alert' }, m.message));
    return;
  }
  const s = m.snapshot;
  const refresh = h('vscode-button', { secondary: true, id: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => send({ type: 'refresh' }));
  append(
    root,
    h('section', { class: 'target' }, h('div', { class: 'target-label' }, `Snapshot ${s.id.slice(0, 12)} · ${m.repository}`), h('h1', { class: 'target-context' }, s.cluster), h('div', { class: 'target-facts' }, `${new Date(s.time).toLocaleString()} · captured in ${formatDuration(s.durationMs)}`)),
    h('section', { class: 'toolbar' }, refresh),
  );
  const stats = h('dl', { class: 'stats' });
  const stat = (k: string, v: string): void => append(stats, h('dt', {}, k), h('dd', {}, v));
  stat('Objects', String(s.counts.resources));
  stat('Volumes', `${s.counts.volumes} (${s.counts.files} files)`);
  stat('Size', formatBytes(s.sizes.bytes));
  stat('New data', formatBytes(s.sizes.added));
  stat('Dedup ratio', ratio(s.sizes.bytes, s.sizes.added));
  if (m.repositoryTotals) stat(`Repository (${m.repositoryTotals.snapshots} snapshots)`, `${formatBytes(m.repositoryTotals.bytes)} captured, ${formatBytes(m.repositoryTotals.added)} stored before compression: ${ratio(m.repositoryTotals.bytes, m.repositoryTotals.added)}`);
  append(root, h('section', { class: 'stats-section' }, h('h2', {}, 'Size and deduplication'), stats));

  append(root, h('section', { class: 'chart-section' }, h('h2', {}, `History of this cluster and scope (${m.history.length} snapshot${m.history.length === 1 ? '' : 's'})`), chart(m.history, s.id)));

  const contents = h('table', { class: 'contents' });
  append(contents, h('thead', {}, h('tr', {}, h('th', {}, 'Namespace'), h('th', {}, 'Kind'), h('th', { class: 'num' }, 'Objects'))));
  const body = h('tbody');
  for (const ns of m.contents.namespaces) {
    ns.kinds.forEach((k, i) => {
      append(body, h('tr', {}, h('td', {}, i === 0 ? ns.namespace || '(cluster-scoped)' : ''), h('td', {}, k.group ? `${k.kind} (${k.group})` : k.kind), h('td', { class: 'num' }, k.names.length)));
    });
  }
  append(contents, body);
  append(root, h('section', { class: 'contents-section' }, h('h2', {}, 'Contents'), contents));

  if (m.contents.volumes.length) {
    const vols = h('table', { class: 'volumes' });
    append(vols, h('thead', {}, h('tr', {}, ...['Claim', 'Storage class', 'Capacity', 'Files', 'Size'].map((t) => h('th', {}, t)))));
    const vb = h('tbody');
    for (const v of m.contents.volumes) {
      append(vb, h('tr', {}, h('td', {}, `${v.namespace}/${v.pvc}`), h('td', {}, v.storageClass ?? ''), h('td', {}, v.capacity ?? ''), h('td', { class: 'num' }, v.files), h('td', { class: 'num' }, formatBytes(v.bytes))));
    }
    append(vols, vb);
    append(root, h('section', { class: 'volumes-section' }, h('h2', {}, 'Volumes'), vols));
  }
  if (m.contents.data.length) {
    append(root, h('section', {}, h('h2', {}, 'Data'), h('ul', {}, ...m.contents.data.map((d) => h('li', {}, `${d.name}: ${formatBytes(d.bytes)}`)))));
  }
  if (s.warnings.length) append(root, h('section', { class: 'warnings' }, h('h2', {}, `Warnings (${s.warnings.length})`), h('ul', {}, ...s.warnings.map((w) => h('li', {}, w)))));
}

window.addEventListener('message', (event: MessageEvent) => {
  const m = event.data as OverviewUpdate;
  if (m?.type === 'overview' || m?.type === 'error') render(m);
});

append(root, h('p', { class: 'hint' }, 'Reading the snapshot…'));
send({ type: 'ready' });
