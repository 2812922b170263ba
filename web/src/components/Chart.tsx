import { type ComponentType, useEffect, useState } from 'react';
import type { EChartProps } from './EChart.tsx';

let EChart: ComponentType<EChartProps> | null = null;
let failure: Error | null = null;
/** The chart library, fetched once (views that draw at once call it early, with their data). */
export function loadChartCode(): Promise<void> {
  return import('./EChart.tsx').then(
    (module) => {
      EChart = module.default;
    },
    (e: Error) => {
      failure = e;
    },
  );
}

/**
 * A chart whose library loads on first use; the figures are also in a table nearby. Not
 * React.lazy: a suspended chart is held back by React's fallback throttle (300 ms) even when
 * its code has already arrived.
 */
export function Chart(props: EChartProps) {
  const [, setArrived] = useState(0);
  // rendered without the code: ask for it, and render again when it is there, even when an
  // earlier call brought it between this render and the effect (nothing else would)
  const missing = !EChart && !failure;
  useEffect(() => {
    if (!missing) return;
    let live = true;
    void loadChartCode().then(() => live && setArrived((n) => n + 1));
    return () => {
      live = false;
    };
  }, [missing]);
  if (failure) {
    return (
      <p className="error" role="alert">
        The chart could not be loaded ({failure.message}); reload the page to try again.
      </p>
    );
  }
  if (!EChart) return <div className="chart loading" style={{ height: props.height ?? 260 }} />;
  return <EChart {...props} />;
}
