import { lazy, Suspense } from 'react';
import type { EChartProps } from './EChart.tsx';

const EChart = lazy(() => import('./EChart.tsx'));

/** A chart whose library loads on first use; the figures are also in a table nearby. */
export function Chart(props: EChartProps) {
  return (
    <Suspense fallback={<div className="chart loading" style={{ height: props.height ?? 260 }} />}>
      <EChart {...props} />
    </Suspense>
  );
}
