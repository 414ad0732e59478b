/**
 * A small SVG line chart written by hand (no charting dependency): throughput against injected
 * round-trip time, one panel per operation, one line per access path.
 */

/** One line: a name, a colour and a y value per x point (undefined: not measured). */
export interface Series {
  name: string;
  color: string;
  /** Dashed line (for reference paths). */
  dashed?: boolean;
  values: (number | undefined)[];
}

/** One panel of the chart. */
export interface Panel {
  title: string;
  series: Series[];
}

/** The whole chart. */
export interface LineChart {
  title: string;
  subtitle: string;
  /** Labels of the x points, shared by every panel (evenly spaced). */
  xLabels: string[];
  xTitle: string;
  yTitle: string;
  /** Panels per row (default 2). */
  columns?: number;
  panels: Panel[];
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" axis maximum and step (1, 2, 2.5 or 5 × a power of ten) for values up to `max`. */
function axis(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  return { top: Math.ceil(max / step) * step || step, step };
}

const thousands = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** Renders the chart as a standalone SVG document. */
export function renderLineChart(chart: LineChart): string {
  const panelWidth = 330;
  const panelHeight = 250;
  const columns = Math.min(chart.columns ?? 2, chart.panels.length);
  const rows = Math.ceil(chart.panels.length / columns);
  const margin = { top: 70, left: 20, bottom: 64 };
  const inner = { left: 62, right: 30, top: 28, bottom: 58 };
  const width = margin.left + columns * panelWidth + 10;
  const height = margin.top + rows * panelHeight + margin.bottom;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escape(chart.title)}</text>`,
    `<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escape(chart.subtitle)}</text>`,
  );
  chart.panels.forEach((panel, index) => {
    const x0 = margin.left + (index % columns) * panelWidth;
    const y0 = margin.top + Math.floor(index / columns) * panelHeight;
    const plot = {
      left: x0 + inner.left,
      right: x0 + panelWidth - inner.right,
      top: y0 + inner.top,
      bottom: y0 + panelHeight - inner.bottom,
    };
    const values = panel.series.flatMap((s) =>
      s.values.filter((v): v is number => v !== undefined),
    );
    const { top, step } = axis(Math.max(0, ...values));
    const xs = chart.xLabels.map(
      (_, i) =>
        plot.left +
        ((plot.right - plot.left - 20) * i) / Math.max(1, chart.xLabels.length - 1) +
        10,
    );
    const y = (v: number) => plot.bottom - ((plot.bottom - plot.top) * v) / top;
    out.push(
      `<text x="${(plot.left + plot.right) / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`,
    );
    for (let v = 0; v <= top + step / 2; v += step) {
      out.push(
        `<line x1="${plot.left}" x2="${plot.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`,
        `<text x="${plot.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#444">${thousands(v)}</text>`,
      );
    }
    out.push(
      `<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}" stroke="#888"/>`,
      `<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#888"/>`,
    );
    chart.xLabels.forEach((label, i) => {
      // "2 ms (+1.98)": the measured part on a second line.
      const [first, ...rest] = label.split(' (');
      out.push(
        `<text x="${xs[i]}" y="${plot.bottom + 16}" text-anchor="middle" fill="#444">${escape(first)}</text>`,
      );
      if (rest.length > 0) {
        out.push(
          `<text x="${xs[i]}" y="${plot.bottom + 29}" text-anchor="middle" fill="#777" font-size="11">(${escape(rest.join(' ('))}</text>`,
        );
      }
    });
    out.push(
      `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 46}" text-anchor="middle" fill="#555">${escape(chart.xTitle)}</text>`,
      `<text transform="translate(${x0 + 14} ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#555">${escape(chart.yTitle)}</text>`,
    );
    for (const series of panel.series) {
      const points = series.values
        .map((v, i) => (v === undefined ? undefined : `${xs[i].toFixed(1)},${y(v).toFixed(1)}`))
        .filter((p): p is string => p !== undefined);
      out.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="2.2"${series.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>`,
      );
      for (const point of points) {
        const [px, py] = point.split(',');
        out.push(`<circle cx="${px}" cy="${py}" r="3.2" fill="${series.color}"/>`);
      }
    }
  });
  // One legend for all panels (the series are the same in each).
  const legend = chart.panels[0]?.series ?? [];
  const perRow = Math.max(2, Math.min(legend.length, columns));
  const slot = (width - 40) / perRow;
  legend.forEach((series, i) => {
    const lx = 30 + (i % perRow) * slot;
    const legendY = height - 50 + Math.floor(i / perRow) * 20;
    out.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2.5"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${lx + 32}" y="${legendY + 4}">${escape(series.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
