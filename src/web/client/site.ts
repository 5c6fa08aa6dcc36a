// A site's page in the browser: the history plots (uPlot, bundled with the
// package), redrawn on resize and on the page's refresh. Times are in UTC,
// in ISO form, as the page's header has them; every axis names its unit;
// the plot of missing files and orphans draws the site's MaxMissing and
// MaxOrphan as dashed lines.
import type UPlot from 'uplot'
import { dcRefresh, dcReplace, dcTick } from './common.js'

/** uPlot, loaded before this module by a classic script (uPlot.iife.min.js). */
const uPlot = (globalThis as unknown as { uPlot?: typeof UPlot }).uPlot

interface SeriesSpec {
  key: string
  label: string
  stroke: string
}

/** What a chart's figures are: counts (whole ticks, from 0), bytes or seconds (in the unit that suits them). */
type Measure = 'count' | 'bytes' | 'seconds'

interface ChartSpec {
  measure: Measure
  /** What a count counts: the unit of its axis. */
  counts?: 'files' | 'directories'
  /** Counts of the size of a site's storage are not drawn from 0: their changes would not show. */
  fromZero: boolean
  series: SeriesSpec[]
}

const CHARTS: Record<string, ChartSpec> = {
  files: {
    measure: 'count',
    counts: 'files',
    fromZero: false,
    series: [{ key: 'files', label: 'files', stroke: '#1a6fd1' }],
  },
  'missing-orphan': {
    measure: 'count',
    counts: 'files',
    fromZero: true,
    series: [
      { key: 'missing', label: 'missing', stroke: '#c5221f' },
      { key: 'orphan', label: 'orphans', stroke: '#8e44ad' },
    ],
  },
  sizes: {
    measure: 'bytes',
    fromZero: true,
    series: [
      { key: 'missingSize', label: 'missing', stroke: '#c5221f' },
      { key: 'orphanSize', label: 'orphans', stroke: '#8e44ad' },
    ],
  },
  duration: { measure: 'seconds', fromZero: true, series: [{ key: 'duration', label: 'run time', stroke: '#137c7c' }] },
  unlisted: {
    measure: 'count',
    counts: 'directories',
    fromZero: true,
    series: [
      { key: 'unlisted', label: 'unlisted', stroke: '#e67e22' },
      { key: 'unlistedBad', label: 'unlisted with errors', stroke: '#c5221f' },
      { key: 'empty', label: 'empty', stroke: '#7a808a' },
    ],
  },
  recovery: {
    measure: 'count',
    counts: 'files',
    fromZero: true,
    series: [
      { key: 'nosource', label: 'no source', stroke: '#b88700' },
      { key: 'unrecoverable', label: 'unrecoverable', stroke: '#c5221f' },
    ],
  },
}

const WHOLE = [1, 2, 5].flatMap((m) => Array.from({ length: 10 }, (_, e) => m * 10 ** e)).sort((a, b) => a - b)

/** The unit for the largest value of a chart: its name and its size. */
function unitFor(spec: ChartSpec, largest: number): [string, number] {
  const measure = spec.measure
  if (measure === 'bytes') {
    const units: [string, number][] = [
      ['PB', 1e15],
      ['TB', 1e12],
      ['GB', 1e9],
      ['MB', 1e6],
      ['kB', 1e3],
    ]
    return units.find(([, size]) => largest >= size) ?? ['bytes', 1]
  }
  if (measure === 'seconds')
    return largest >= 7200 ? ['hours', 3600] : largest >= 120 ? ['minutes', 60] : ['seconds', 1]
  return [spec.counts ?? '', 1]
}

const pad2 = (n: number) => String(n).padStart(2, '0')

/** A unix time in UTC, ISO style: 2024-05-01, or 2024-05-01 13:07 with `minutes`. */
function isoTime(seconds: number, minutes: boolean): string {
  const d = new Date(seconds * 1000)
  const day = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`
  return minutes ? `${day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}` : day
}

/** The x axis's ticks: dates, with the time of day when the ticks are less than a day apart. */
function timeTicks(ticks: number[]): string[] {
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : 86_400
  return ticks.map((t) => isoTime(t, step < 86_400))
}

/** A figure in few characters: 1.2M, 35k, 0.05. */
function compact(v: number): string {
  const a = Math.abs(v)
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`
  return String(a < 10 ? +v.toPrecision(3) : +v.toFixed(1))
}

/** Axis ticks: in the unit of the largest, with as many decimals as the step between ticks needs. */
function tickLabels(ticks: number[]): string[] {
  const largest = Math.max(0, ...ticks.map(Math.abs))
  const step = ticks.length > 1 ? Math.abs((ticks[1] as number) - (ticks[0] as number)) : largest
  const [suffix, size] =
    largest >= 1e9 ? ['G', 1e9] : largest >= 1e6 ? ['M', 1e6] : largest >= 1e4 ? ['k', 1e3] : ['', 1]
  const decimals = step > 0 ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(step / size) - 1e-9))) : 0
  return ticks.map((t) => (t === 0 ? '0' : `${(t / size).toFixed(decimals)}${suffix}`))
}

function main(): void {
  let plots: UPlot[] = []
  /** The x range of a plot `width` px wide: the runs, with room around them. */
  let xRange = (_width: number): { min: number; max: number } => ({ min: 0, max: 1 })

  function draw(): void {
    for (const p of plots) p.destroy()
    plots = []
    const source = document.getElementById('history')
    if (!source || !uPlot) return
    const history = JSON.parse(source.textContent ?? '{}') as Record<string, number[]>
    const time = history.time ?? []
    const first = time[0] ?? 0
    const last = time.at(-1) ?? 0
    const span = last - first
    // runs close together (or one run) get a window of an hour around them, not one of years
    // the first and last dates' labels (about 45 px each side of their tick) stay on a narrow plot
    const pad = (width: number) => (span < 3600 ? 1800 : span * Math.max(0.03, 45 / Math.max(1, width)))
    xRange = (width) => ({ min: first - pad(width), max: last + pad(width) })
    for (const figure of Array.from(document.querySelectorAll<HTMLElement>('figure.chart[data-chart]'))) {
      const spec = CHARTS[figure.dataset.chart ?? '']
      const target = figure.querySelector<HTMLElement>('.plot')
      if (!spec || !target) continue
      target.textContent = ''
      const raw = spec.series.map((s) => history[s.key] ?? [])
      // the gates, on the plot of missing files and orphans: constant lines at their values
      const gates =
        figure.dataset.chart === 'missing-orphan'
          ? [
              { label: 'MaxMissing', value: Number(figure.dataset.maxMissing), stroke: '#c5221f' },
              { label: 'MaxOrphan', value: Number(figure.dataset.maxOrphan), stroke: '#8e44ad' },
            ].filter((g) => Number.isFinite(g.value))
          : []
      const [unit, size] = unitFor(spec, Math.max(0, ...raw.flat()))
      const data: UPlot.AlignedData = [
        time,
        ...raw.map((values) => values.map((v) => v / size)),
        ...gates.map((g) => time.map(() => g.value / size)),
      ]
      const axes = ['time (UTC)', unit]
      figure.dataset.axes = axes.join('|')
      // counts and bytes have whole ticks; seconds may be fractions
      const whole = spec.measure === 'count' || (spec.measure === 'bytes' && size === 1) ? { incrs: WHOLE } : {}
      const options: UPlot.Options = {
        width: Math.max(280, target.clientWidth),
        height: 220,
        // ticks on UTC days and hours, as the page's times
        tzDate: (ts: number) => (uPlot as typeof UPlot).tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        scales: {
          x: { time: true },
          y: spec.fromZero ? { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } : {},
        },
        axes: [
          {
            label: axes[0],
            labelSize: 16,
            // an ISO date is about 80 px wide: ticks farther apart than that
            space: 110,
            values: (u, ticks) => {
              // a label centred on a tick near the right edge would be cut: such a tick goes unlabelled
              const room = u.bbox.left + u.bbox.width - 40 * devicePixelRatio
              const texts = timeTicks(ticks).map((t, i) => (u.valToPos(ticks[i] as number, 'x', true) > room ? '' : t))
              figure.dataset.xTicks = texts.filter(Boolean).join('|')
              return texts
            },
          },
          {
            size: 60,
            values: (_u, ticks) => tickLabels(ticks),
            ...whole,
            label: unit,
            labelSize: 16,
          },
        ],
        series: [
          {
            label: 'time (UTC)',
            value: (_u: UPlot, v: number | null) => (v === null ? '\u2013' : `${isoTime(v, true)} UTC`),
          },
          ...spec.series.map((s) => ({
            label: `${s.label} (${unit})`,
            stroke: s.stroke,
            width: 2,
            points: { show: time.length <= 60, size: 6, fill: s.stroke },
            value: (_u: UPlot, v: number | null) => (v === null ? '\u2013' : compact(v)),
          })),
          ...gates.map((g) => ({
            label: g.label,
            stroke: g.stroke,
            width: 1.5,
            dash: [6, 4],
            points: { show: false },
            value: () => compact(g.value / size),
          })),
        ],
        hooks: {
          draw: [
            () => {
              figure.dataset.drawn = String(time.length)
            },
          ],
        },
      }
      const plot = new uPlot(options, data, target)
      // uPlot ranges x to the data alone: widen it
      plot.setScale('x', xRange(target.clientWidth))
      plots.push(plot)
    }
  }

  let resizing = 0
  window.addEventListener('resize', () => {
    clearTimeout(resizing)
    resizing = window.setTimeout(() => {
      for (const p of plots) {
        const target = p.root.parentElement
        if (!target) continue
        p.setSize({ width: Math.max(280, target.clientWidth), height: 220 })
        p.setScale('x', xRange(target.clientWidth))
      }
    }, 150)
  })

  dcTick(document)
  draw()
  document.body.dataset.ready = '1'
  performance.mark('dc-ready')

  dcRefresh(
    (next) => {
      const fresh = next.getElementById('content')
      const mine = document.getElementById('content')
      if (!fresh || !mine) throw new Error('not a site page')
      mine.replaceWith(document.importNode(fresh, true))
      dcReplace(next, 'site-state')
      dcReplace(next, 'generated')
      draw()
    },
    () => undefined,
  )
}

main()
