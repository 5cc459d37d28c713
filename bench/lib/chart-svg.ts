/**
 * The chart of `npm run bench`: two panels of grouped bars, one group per
 * payload size and one bar per target — server CPU-seconds per million
 * samples, and bytes per sample after compaction — each bar the median of
 * the runs with a min–max whisker. For `stratus-aws`, the CPU of the S3 and
 * DynamoDB emulators is stacked on top, hatched, apart from Stratus' own;
 * for Stratus and VictoriaMetrics, a tick marks the like-for-like size
 * (without downsampled blocks / without `cache/`). Plain SVG, no
 * dependency.
 */
import { figure, likeForLike, runsOf, TARGET_TITLE, type Combined, type RunFigures } from './full-report.ts';
import { fmt, fmtInt } from './stats.ts';

const COLORS: Record<string, string> = {
  stratus: '#2b6cb0',
  'stratus-aws': '#6b46c1',
  prometheus: '#dd6b20',
  victoriametrics: '#2f855a',
};

const W = 980;
const H = 440;
const PANEL_W = 450;
const TOP = 56;
const PLOT_H = 260;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round upper bound and tick step for values up to `max`. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

interface Bar {
  target: string;
  median: number;
  min: number;
  max: number;
  /** Stacked on top (hatched): emulator CPU. */
  extra?: number;
  /** A tick at this value (like for like). */
  mark?: number;
}

function panel(x0: number, title: string, unit: string, groups: { label: string; bars: Bar[] }[]): string {
  const parts: string[] = [];
  const top = Math.max(...groups.flatMap((g) => g.bars.map((b) => Math.max(b.max, b.median + (b.extra ?? 0)))).filter((v) => Number.isFinite(v)), 0);
  const { top: yMax, step } = niceScale(top * 1.08);
  const left = x0 + 48;
  const plotW = PANEL_W - 60;
  const y = (v: number): number => TOP + PLOT_H - (v / yMax) * PLOT_H;
  parts.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP - 30}" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP - 13}" text-anchor="middle" font-size="11" fill="#555">${esc(unit)}</text>`);
  for (let v = 0; v <= yMax + step / 2; v += step) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e2e2e2"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#444">${fmt(v, step < 1 ? 1 : 0)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  const groupW = plotW / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const n = Math.max(1, g.bars.length);
    const barW = Math.min(44, (groupW - 24) / n);
    const gx = left + gi * groupW + (groupW - barW * n) / 2;
    parts.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${TOP + PLOT_H + 18}" text-anchor="middle" font-size="12">${esc(g.label)}</text>`);
    g.bars.forEach((b, bi) => {
      if (!Number.isFinite(b.median)) return;
      const bx = gx + bi * barW + 2;
      const w = barW - 4;
      const color = COLORS[b.target] ?? '#777';
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y(b.median).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(0) - y(b.median)).toFixed(1)}" fill="${color}"><title>${esc(`${TARGET_TITLE[b.target] ?? b.target}: median ${fmt(b.median)}, min ${fmt(b.min)}, max ${fmt(b.max)}`)}</title></rect>`);
      let labelTop = y(Math.max(b.max, b.median));
      if (b.extra !== undefined && b.extra > 0) {
        parts.push(`<rect x="${bx.toFixed(1)}" y="${y(b.median + b.extra).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(b.median) - y(b.median + b.extra)).toFixed(1)}" fill="url(#hatch)" stroke="${color}"><title>${esc(`emulators (s3rver + dynalite): ${fmt(b.extra)}`)}</title></rect>`);
        labelTop = Math.min(labelTop, y(b.median + b.extra));
      }
      if (b.max > b.min) {
        const cx = bx + w / 2;
        parts.push(`<path d="M${cx.toFixed(1)},${y(b.min).toFixed(1)}V${y(b.max).toFixed(1)}M${(cx - 5).toFixed(1)},${y(b.min).toFixed(1)}h10M${(cx - 5).toFixed(1)},${y(b.max).toFixed(1)}h10" stroke="#111" stroke-width="1.3" fill="none"/>`);
      }
      if (b.mark !== undefined && Number.isFinite(b.mark) && Math.abs(b.mark - b.median) > 1e-9) {
        parts.push(`<path d="M${(bx - 2).toFixed(1)},${y(b.mark).toFixed(1)}h${(w + 4).toFixed(1)}" stroke="#fff" stroke-width="2.5"/><path d="M${(bx - 2).toFixed(1)},${y(b.mark).toFixed(1)}h${(w + 4).toFixed(1)}" stroke="#111" stroke-width="1" stroke-dasharray="3,2"/>`);
      }
      const label = b.extra ? `${fmt(b.median, 1)}+${fmt(b.extra, 1)}` : fmt(b.median, b.median < 10 ? 2 : 1);
      parts.push(`<text x="${(bx + w / 2).toFixed(1)}" y="${(labelTop - 4).toFixed(1)}" text-anchor="middle" font-size="10">${label}</text>`);
    });
  });
  return parts.join('\n');
}

/** The chart as an SVG document. */
export function renderChart(c: Combined): string {
  const targets = c.targets.filter((t) => c.sizes.some((s) => runsOf(s, t).length > 0));
  const label = (series: number, runs: number): string => `${fmtInt(series)} series (${runs} run${runs === 1 ? '' : 's'})`;
  const bars = (pick: (rs: RunFigures[], t: string) => Bar) =>
    c.sizes.map((s) => ({ label: label(s.series, s.runs), bars: targets.map((t) => pick(runsOf(s, t), t)) }));
  const cpu = bars((rs, t) => {
    const f = figure(rs, (r) => r.cpuPerMillion);
    const extra = figure(rs, (r) => r.sidecarCpuPerMillion).median;
    return { target: t, ...f, extra: Number.isFinite(extra) ? extra : undefined };
  });
  const size = bars((rs, t) => ({ target: t, ...figure(rs, (r) => r.after?.bytesPerSample), mark: t === 'prometheus' ? undefined : figure(rs, likeForLike).median }));
  const legendY = TOP + PLOT_H + 48;
  let lx = 40;
  const legend = targets.map((t) => {
    const x = lx;
    lx += 40 + 6.6 * (TARGET_TITLE[t] ?? t).length;
    return `<rect x="${x}" y="${legendY}" width="14" height="14" fill="${COLORS[t] ?? '#777'}"/><text x="${x + 20}" y="${legendY + 12}" font-size="12">${esc(TARGET_TITLE[t] ?? t)}</text>`;
  });
  const notes = [
    'Bars: median of the runs; whiskers: min–max. Hatched: CPU of the S3/DynamoDB emulators (s3rver + dynalite), not paid on AWS.',
    'Dashed tick: like for like (Stratus without its 5 m / 1 h downsampled blocks; VictoriaMetrics without cache/). Prometheus: its snapshot block.',
    `${c.machine.nproc} CPUs (${c.machine.cpuModel}), load average ${fmt(c.load1.min, 1)}–${fmt(c.load1.max, 1)} during the runs; ${c.started.slice(0, 10)}, commit ${c.commit}.`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#6b46c1" stroke-width="2.5"/></pattern></defs>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    panel(20, 'Ingest: server CPU-seconds per million samples', 'lower is better; utime + stime from /proc', cpu),
    panel(20 + PANEL_W + 40, 'Bytes per sample after compaction', 'lower is better; all kept on disk (AWS mode: S3 objects + DynamoDB items)', size),
    ...legend,
    ...notes.map((n, i) => `<text x="40" y="${legendY + 36 + i * 15}" font-size="11" fill="#444">${esc(n)}</text>`),
    '</svg>',
    '',
  ].join('\n');
}
