// A line chart over uPlot. The x axis is the bucket's index labelled with the API's period text:
// the API has already bucketed in the chosen timezone, so the chart must not re-interpret times.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: number[];
  stroke: string;
}

interface Props {
  title: string;
  labels: string[];
  series: Series[];
  height?: number;
}

function options(props: Props, width: number): uPlot.Options {
  const labels = props.labels;
  return {
    title: props.title,
    width,
    height: props.height ?? 260,
    scales: { x: { time: false } },
    axes: [
      {
        values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] ?? "" : "")),
        // Room for a "MM-DD HH:mm" label: fewer, readable ticks on long ranges.
        space: 90,
        stroke: "#1f2933",
        grid: { stroke: "#e4e7eb" },
      },
      { stroke: "#1f2933", grid: { stroke: "#e4e7eb" } },
    ],
    series: [{ label: "period", value: (_u, i) => (i == null ? "" : labels[Math.round(i)] ?? "") },
      ...props.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: true } }))],
  };
}

function data(props: Props): uPlot.AlignedData {
  return [props.labels.map((_, i) => i), ...props.series.map((s) => s.values)];
}

export function LineChart(props: Props) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join("|") + "#" + props.labels.join("|");

  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    plot.current = new uPlot(options(props, element.clientWidth || 600), data(props), element);
    const observer = new ResizeObserver(() => {
      plot.current?.setSize({ width: element.clientWidth || 600, height: props.height ?? 260 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  return (
    <figure class="chart">
      <div ref={holder} class="chart-canvas" role="img" aria-label={`${props.title}: ${props.series
        .map((s) => `${s.label} ${s.values.reduce((a, b) => a + b, 0)} in total`).join(", ")}`} />
    </figure>
  );
}
