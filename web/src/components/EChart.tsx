// ECharts, loaded only by views that draw a chart (React.lazy in Chart.tsx), tree-shaken
// to the chart kinds the console uses.
import { BarChart, LineChart, SankeyChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([
  BarChart,
  LineChart,
  SankeyChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  SVGRenderer,
]);

export type EChartProps = { option: echarts.EChartsCoreOption; height?: number; label: string };

export default function EChart({ option, height = 260, label }: EChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current, null, { renderer: 'svg' });
    const legend = (option as { legend?: object }).legend;
    // legends on top, clear of the axis labels
    chart.setOption({
      animation: false,
      ...option,
      ...(legend ? { legend: { top: 0, ...legend } } : {}),
    });
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [option]);
  return (
    <div ref={ref} role="img" aria-label={label} className="chart" style={{ height }} data-chart />
  );
}
