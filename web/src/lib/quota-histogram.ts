// The impact replay's quota-use distribution (policyImpact.quotaDistribution) as chart
// series: bin labels, counts before and after (null where the server withheld a small
// count), and each of the new version's quota steps placed on the bin that holds it.

export type QuotaBin = {
  from: number;
  to: number | null;
  before: number | null;
  after: number | null;
};
export type QuotaDistribution = {
  bins: QuotaBin[];
  thresholds: { trigger: 'at' | 'forecast'; percent: number; action: string }[];
};

export type QuotaHistogram = {
  labels: string[];
  before: (number | null)[];
  after: (number | null)[];
  /** one mark per step: the bin label it falls in, and what it is */
  marks: { label: string; name: string }[];
  withheld: boolean;
};

export function binLabel(b: { from: number; to: number | null }): string {
  return b.to === null ? `${b.from}%+` : `${b.from}–${b.to}%`;
}

export function quotaHistogram(d: QuotaDistribution): QuotaHistogram {
  const marks: QuotaHistogram['marks'] = [];
  for (const t of [...d.thresholds].sort((x, y) => x.percent - y.percent)) {
    const bin = d.bins.find((b) => t.percent >= b.from && (b.to === null || t.percent < b.to));
    if (!bin) continue;
    const when = t.trigger === 'forecast' ? 'forecast ' : '';
    marks.push({
      label: binLabel(bin),
      name: `${when}${t.percent}% ${t.action.replaceAll('_', ' ')}`,
    });
  }
  return {
    labels: d.bins.map(binLabel),
    before: d.bins.map((b) => b.before),
    after: d.bins.map((b) => b.after),
    marks,
    withheld: d.bins.some((b) => b.before === null || b.after === null),
  };
}
