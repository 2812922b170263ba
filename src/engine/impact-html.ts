// The impact review as one self-contained HTML page (no scripts, no external files) with SVG
// charts: tier moves, rank before and after, quota use with the quota steps, cost by team.
// Same document as the Markdown (impact-document.ts); every string is escaped here.

import type { ImpactReport } from './impact.ts';
import {
  type Block,
  type Chart,
  type Inline,
  reviewDocument,
  type Table,
} from './impact-document.ts';

export function htmlText(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const inline = (text: Inline) =>
  text
    .map((p) => (typeof p === 'string' ? htmlText(p) : `<strong>${htmlText(p.strong)}</strong>`))
    .join('');

const COLORS = { before: '#9aa5b1', after: '#2f6fdf', marker: '#c0392b', line: '#52606d' };
const fmt = (n: number) =>
  Number.isInteger(n)
    ? n.toLocaleString('en-US')
    : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

function table(t: Table): string {
  const cell = (tag: 'th' | 'td', text: string, i: number) =>
    `<${tag}${t.numeric[i] ? ' class="num"' : ''}>${htmlText(text)}</${tag}>`;
  return [
    '<table>',
    `<thead><tr>${t.head.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...t.rows.map((row) => `<tr>${row.map((c, i) => cell('td', c, i)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${htmlText(title)}">`,
    `<title>${htmlText(title)}</title>`,
    ...body,
    `</svg><figcaption>${htmlText(title)}</figcaption></figure>`,
  ].join('\n');
}

const legend = (x: number, y: number, names: string[]) =>
  names.map(
    (name, i) =>
      `<rect x="${x + i * 90}" y="${y - 9}" width="10" height="10" fill="${i === 0 && names.length > 1 ? COLORS.before : COLORS.after}"/><text x="${x + i * 90 + 14}" y="${y}" class="small">${htmlText(name)}</text>`,
  );

/** Grouped vertical bars per category, one colour per series, with optional vertical marks. */
function barChart(c: Extract<Chart, { kind: 'bars' }>): string {
  const left = 60;
  const top = 30;
  const plotH = 200;
  const group = Math.max(36, Math.min(70, 700 / Math.max(c.categories.length, 1)));
  const width = left + group * c.categories.length + 20;
  const height = top + plotH + 80;
  const max = Math.max(1, ...c.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const barW = (group - 8) / c.series.length;
  const body: string[] = [
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="${COLORS.line}"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="${COLORS.line}"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" class="small">${fmt(max)}</text>`,
    `<text x="${left - 6}" y="${top + plotH}" text-anchor="end" class="small">0</text>`,
    `<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle" class="small">${htmlText(c.yLabel)}</text>`,
    ...legend(
      left,
      16,
      c.series.map((s) => s.name),
    ),
  ];
  c.categories.forEach((name, i) => {
    const x0 = left + i * group + 4;
    c.series.forEach((s, j) => {
      const v = s.values[i];
      const fill = j === 0 && c.series.length > 1 ? COLORS.before : COLORS.after;
      if (v === null) {
        body.push(
          `<text x="${x0 + j * barW + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" class="small">?</text>`,
        );
        return;
      }
      body.push(
        `<rect x="${x0 + j * barW}" y="${y(v)}" width="${Math.max(barW - 2, 1)}" height="${top + plotH - y(v)}" fill="${fill}"><title>${htmlText(`${name}, ${s.name}: ${fmt(v)}`)}</title></rect>`,
      );
    });
    const lx = x0 + (group - 8) / 2;
    body.push(
      `<text x="${lx}" y="${top + plotH + 14}" text-anchor="end" transform="rotate(-35 ${lx} ${top + plotH + 14})" class="small">${htmlText(name)}</text>`,
    );
  });
  // labels step down so that close thresholds do not overlap
  (c.markers ?? []).forEach((m, i) => {
    const x = left + m.at * group;
    body.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + plotH}" stroke="${COLORS.marker}" stroke-dasharray="4 3"/>`,
      `<text x="${x + 3}" y="${top + 8 + i * 13}" class="small marker">${htmlText(m.label)}</text>`,
    );
  });
  return svg(width, height, c.title, body);
}

/** Tiers before on the left, after on the right, bands as wide as the people moving. */
function flowChart(c: Extract<Chart, { kind: 'flow' }>): string {
  const froms = [...new Set(c.edges.map((e) => e.from))];
  const tos = [...new Set(c.edges.map((e) => e.to))];
  const total = Math.max(1, ...c.edges.map((e) => e.count));
  const rows = Math.max(froms.length, tos.length);
  const height = 60 + rows * 60;
  const width = 560;
  const yOf = (list: string[], name: string) => 50 + list.indexOf(name) * 60 + 15;
  const body: string[] = [
    `<text x="20" y="24" class="small">before</text>`,
    `<text x="${width - 20}" y="24" text-anchor="end" class="small">after</text>`,
  ];
  for (const e of c.edges) {
    const y1 = yOf(froms, e.from);
    const y2 = yOf(tos, e.to);
    const w = 2 + (e.count / total) * 24;
    body.push(
      `<path d="M 150 ${y1} C 280 ${y1}, 280 ${y2}, 410 ${y2}" fill="none" stroke="${COLORS.after}" stroke-opacity="0.45" stroke-width="${w}"><title>${htmlText(`${e.from} → ${e.to}: ${e.count}`)}</title></path>`,
      `<text x="280" y="${(y1 + y2) / 2 - w / 2 - 4}" text-anchor="middle" class="small">${e.count}</text>`,
    );
  }
  for (const name of froms)
    body.push(
      `<rect x="20" y="${yOf(froms, name) - 15}" width="130" height="30" rx="4" fill="${COLORS.before}"/><text x="85" y="${yOf(froms, name) + 5}" text-anchor="middle">${htmlText(name)}</text>`,
    );
  for (const name of tos)
    body.push(
      `<rect x="410" y="${yOf(tos, name) - 15}" width="130" height="30" rx="4" fill="${COLORS.after}"/><text x="475" y="${yOf(tos, name) + 5}" text-anchor="middle" fill="#fff">${htmlText(name)}</text>`,
    );
  return svg(width, height, c.title, body);
}

/** A slope chart: each subject's rank before (left) and after (right); rank 1 on top. */
function slopeChart(c: Extract<Chart, { kind: 'slope' }>): string {
  const width = 720;
  const height = Math.max(320, 80 + c.items.length * 26);
  const top = 40;
  const plotH = height - top - 30;
  const max = Math.max(1, ...c.items.flatMap((i) => [i.before, i.after]));
  const y = (rank: number) => top + ((rank - 1) / Math.max(max - 1, 1)) * plotH;
  const body: string[] = [
    `<text x="240" y="24" text-anchor="middle" class="small">rank before</text>`,
    `<text x="470" y="24" text-anchor="middle" class="small">rank after</text>`,
    `<line x1="240" y1="${top}" x2="240" y2="${top + plotH}" stroke="${COLORS.line}"/>`,
    `<line x1="470" y1="${top}" x2="470" y2="${top + plotH}" stroke="${COLORS.line}"/>`,
  ];
  /** Label positions that keep 13px apart, in rank order. */
  const spread = (ranks: number[]) => {
    const order = ranks.map((r, i) => ({ y: y(r), i })).sort((a, b) => a.y - b.y || a.i - b.i);
    const out = new Array<number>(ranks.length);
    let last = -Infinity;
    for (const o of order) {
      last = Math.max(o.y, last + 13);
      out[o.i] = last;
    }
    return out;
  };
  const leftY = spread(c.items.map((i) => i.before));
  const rightY = spread(c.items.map((i) => i.after));
  c.items.forEach((i, k) => {
    const colour = i.after < i.before ? COLORS.after : COLORS.marker;
    body.push(
      `<line x1="240" y1="${y(i.before)}" x2="470" y2="${y(i.after)}" stroke="${colour}" stroke-width="1.5"><title>${htmlText(`${i.label}: #${i.before} → #${i.after}`)}</title></line>`,
      `<text x="234" y="${leftY[k] + 4}" text-anchor="end" class="small">#${i.before} ${htmlText(i.label)}</text>`,
      `<text x="476" y="${rightY[k] + 4}" class="small">#${i.after} ${htmlText(i.label)}</text>`,
    );
  });
  return svg(width, height, c.title, body);
}

function chart(c: Chart): string {
  if (c.kind === 'bars') return barChart(c);
  if (c.kind === 'flow') return flowChart(c);
  return slopeChart(c);
}

function block(b: Block): string {
  if (b.kind === 'paragraph') return `<p>${inline(b.text)}</p>`;
  if (b.kind === 'warning')
    return `<p class="warning"><strong>Warning:</strong> ${inline(b.text)}</p>`;
  if (b.kind === 'list') return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
  if (b.kind === 'table') return table(b.table);
  return chart(b.chart);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1f2933}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #cbd2d9;padding:3px 8px;text-align:left}
.num{text-align:right}.warning{background:#fff4e5;border-left:4px solid #c0392b;padding:.4em .8em}
figure{margin:1em 0}figcaption{font-size:12px;color:#52606d}svg text{font:12px system-ui,sans-serif}
svg .small{font-size:11px}svg .marker{fill:#c0392b}`;

export function renderImpactHtml(r: ImpactReport): string {
  const doc = reviewDocument(r);
  const out = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${htmlText(doc.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${htmlText(doc.title)}</h1>`,
    ...doc.intro.map((line) => `<p>${inline(line)}</p>`),
  ];
  for (const section of doc.sections) {
    out.push(`<section><h2>${htmlText(section.title)}</h2>`);
    out.push(...section.blocks.map(block));
    out.push('</section>');
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
