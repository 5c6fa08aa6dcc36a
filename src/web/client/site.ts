// A site's page in the browser: the history plots (uPlot, bundled with the
// package), redrawn on resize and on the page's refresh.
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
  /** Counts of the size of a site's storage are not drawn from 0: their changes would not show. */
  fromZero: boolean
  series: SeriesSpec[]
}

const CHARTS: Record<string, ChartSpec> = {
  files: { measure: 'count', fromZero: false, series: [{ key: 'files', label: 'files', stroke: '#1a6fd1' }] },
  'missing-orphan': {
    measure: 'count',
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
    fromZero: true,
    series: [
      { key: 'unlisted', label: 'unlisted', stroke: '#e67e22' },
      { key: 'unlistedBad', label: 'with errors', stroke: '#c5221f' },
    ],
  },
  recovery: {
    measure: 'count',
    fromZero: true,
    series: [
      { key: 'nosource', label: 'no source', stroke: '#b88700' },
      { key: 'unrecoverable', label: 'unrecoverable', stroke: '#c5221f' },
      { key: 'empty', label: 'empty directories', stroke: '#7a808a' },
    ],
  },
}

const WHOLE = [1, 2, 5].flatMap((m) => Array.from({ length: 10 }, (_, e) => m * 10 ** e)).sort((a, b) => a - b)

/** The unit for the largest value of a measure: its name and its size. */
function unitFor(measure: Measure, largest: number): [string, number] {
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
  return ['', 1]
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
    const pad = span < 3600 ? 1800 : span * 0.03
    for (const figure of Array.from(document.querySelectorAll<HTMLElement>('figure.chart[data-chart]'))) {
      const spec = CHARTS[figure.dataset.chart ?? '']
      const target = figure.querySelector<HTMLElement>('.plot')
      if (!spec || !target) continue
      target.textContent = ''
      const raw = spec.series.map((s) => history[s.key] ?? [])
      const [unit, size] = unitFor(spec.measure, Math.max(0, ...raw.flat()))
      const data: UPlot.AlignedData = [time, ...raw.map((values) => values.map((v) => v / size))]
      // counts and bytes have whole ticks; seconds may be fractions
      const whole = spec.measure === 'count' || (spec.measure === 'bytes' && size === 1) ? { incrs: WHOLE } : {}
      const options: UPlot.Options = {
        width: Math.max(280, target.clientWidth),
        height: 220,
        scales: {
          x: { time: true },
          y: spec.fromZero ? { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } : {},
        },
        axes: [
          {},
          {
            size: 60,
            values: (_u, ticks) => tickLabels(ticks),
            ...whole,
            ...(unit ? { label: unit, labelSize: 16 } : {}),
          },
        ],
        series: [
          { label: 'run ended' },
          ...spec.series.map((s) => ({
            label: unit ? `${s.label} (${unit})` : s.label,
            stroke: s.stroke,
            width: 2,
            points: { show: time.length <= 60, size: 6, fill: s.stroke },
            value: (_u: UPlot, v: number | null) => (v === null ? '\u2013' : compact(v)),
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
      plot.setScale('x', { min: first - pad, max: last + pad })
      plots.push(plot)
    }
  }

  let resizing = 0
  window.addEventListener('resize', () => {
    clearTimeout(resizing)
    resizing = window.setTimeout(() => {
      for (const p of plots) {
        const target = p.root.parentElement
        if (target) p.setSize({ width: Math.max(280, target.clientWidth), height: 220 })
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
