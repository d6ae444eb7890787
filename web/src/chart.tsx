// Apache ECharts, tree-shaken to the charts and components the dashboard uses, canvas renderer.
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'preact/hooks';

echarts.use([BarChart, HeatmapChart, LineChart, GridComponent, LegendComponent, MarkLineComponent,
  TooltipComponent, VisualMapComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;
export const PALETTE = ['#3b4fd8', '#17a589', '#e08a1e', '#c0392b', '#8e44ad', '#5d6d7e', '#2e86c1'];

interface Props {
  option: ChartOption;
  label: string;
  class?: string;
  height?: number;
  onClick?: (params: { data?: unknown; dataIndex: number; seriesIndex?: number; value?: unknown }) => void;
  testid?: string;
}

export function Chart({ option, label, class: cls, height = 280, onClick, testid }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const inst = useRef<echarts.ECharts | null>(null);
  const click = useRef(onClick);
  click.current = onClick;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = echarts.init(el, null, { renderer: 'canvas' });
    inst.current = chart;
    chart.on('click', (p) => click.current?.(p as never));
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el);
    return () => { ro.disconnect(); chart.dispose(); inst.current = null; };
  }, []);
  useEffect(() => {
    inst.current?.setOption({ color: PALETTE, textStyle: { fontFamily: 'inherit' }, animationDuration: 300, ...option }, true);
  }, [option]);
  useEffect(() => { if (ref.current) ref.current.style.height = `${height}px`; }, [height]);
  return <div ref={ref} class={`chart ${cls ?? ''}`} role="img" aria-label={label} data-testid={testid} />;
}

export function Sparkline({ values, label, color = PALETTE[0], testid }: { values: (number | null)[]; label: string; color?: string; testid?: string }) {
  const option: ChartOption = {
    animation: false,
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: 'category', show: false, data: values.map((_, i) => i) },
    yAxis: { type: 'value', show: false, scale: true },
    series: [{ type: 'line', data: values, symbol: 'none', smooth: false, lineStyle: { width: 2, color },
      areaStyle: { color, opacity: 0.08 } }],
    tooltip: { show: false },
  };
  return <Chart option={option} label={label} height={44} class="sparkline" testid={testid} />;
}
