// A strict reader of the Prometheus text exposition format 0.0.4, written from the format's
// documentation (prometheus/docs: content/docs/instrumenting/exposition_formats.md): `# HELP`
// and `# TYPE` lines, then samples `name{label="value",…} value [timestamp]` with `\\`, `\"`
// and `\n` escapes in label values. The one npm parser (parse-prometheus-text-format 1.1.1)
// drops the labels and counts of labelled histograms, so tests read the text with this.
// Anything off the grammar throws, naming the line.

export type PromSample = { name: string; labels: Record<string, string>; value: number };
export type PromFamily = { name: string; type: string; help: string; samples: PromSample[] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      const family = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`${where}: unknown type ${rest}`);
        family.type = rest;
      } else family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      families.set(name, family);
      return;
    }
    if (line.startsWith('#')) return;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
    if (!sample) throw new Error(`${where}: not a sample: ${line}`);
    const [, name, labelText, valueText] = sample;
    const value = parseValue(valueText, where);
    const labels = labelText ? parseLabels(labelText.slice(1, -1), where) : {};
    const family = familyOf(families, name);
    if (!family) throw new Error(`${where}: sample ${name} has no # TYPE line before it`);
    family.samples.push({ name, labels, value });
  });
  return families;
}

function familyOf(families: Map<string, PromFamily>, name: string): PromFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const family of families.values())
    for (const suffix of SUFFIXES[family.type] ?? [])
      if (name === family.name + suffix) return family;
  return undefined;
}

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat: Inf and NaN in any letter case
  const word = text.toLowerCase();
  if (word === '+inf' || word === 'inf') return Number.POSITIVE_INFINITY;
  if (word === '-inf') return Number.NEGATIVE_INFINITY;
  if (word === 'nan') return Number.NaN;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`${where}: bad value ${text}`);
  return n;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"')
      throw new Error(`${where}: bad label at ${text.slice(i)}`);
    i += name.length + 2;
    let value = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        value += e === 'n' ? '\n' : e;
      } else value += c;
    }
    if (name in labels) throw new Error(`${where}: label ${name} repeated`);
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`${where}: expected , after label ${name}`);
  }
  return labels;
}
