/** What every step of a check run is given, and how a stop is heard between steps. */
import type { Backend } from '../backends/types'
import { CancelledError } from '../errors'
import type { SummaryStore } from '../summary/store'
import type { Reporting } from '../summary/types'
import type { RunLog } from './log'
import type { CheckOptions } from './types'

/** One run of the check on one picked site. */
export interface Run {
  site: string
  /** The site's reporting flag when it was picked. */
  reporting: Reporting
  /** When the site was picked (unix seconds). */
  started: number
  /** When the check began (milliseconds, as `Date.now()`). */
  t0: number
  backend: Backend
  store: SummaryStore
  log: RunLog
  /** Aborts on a halt, a lost lease or the caller's signal. */
  signal: AbortSignal
  options: CheckOptions
  lease: { owner: string; seconds: number }
}

/** How a run ended without a report. */
export class HaltedError extends CancelledError {
  constructor(
    readonly site: string,
    readonly reason: string,
  ) {
    super('E_HALTED', `the check of ${site} stopped: ${reason}`)
  }
}

export function throwIfAborted(run: Pick<Run, 'signal' | 'site'>): void {
  const { signal, site } = run
  if (signal.aborted) throw new HaltedError(site, String((signal.reason as Error)?.message ?? signal.reason))
}

/** `work`, or a HaltedError as soon as the run's signal aborts (`work` is left to end by itself). */
export async function untilAborted<T>(work: Promise<T>, run: Pick<Run, 'signal' | 'site'>): Promise<T> {
  throwIfAborted(run)
  const { signal, site } = run
  let onAbort = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new HaltedError(site, String((signal.reason as Error)?.message ?? signal.reason)))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
