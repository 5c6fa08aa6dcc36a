/** The JSON behind the page: `GET /api/sites` and `GET /api/sites/SITE/history`. */
import type { RunStats, SiteSummary } from '../summary/types'
import { type SiteState, siteState } from './state'

/** A site as `/api/sites` gives it: the store's summary and the page's state. */
export interface SiteEntry extends SiteSummary {
  state: Pick<SiteState, 'colour' | 'label' | 'problems' | 'reasons'>
}

export interface SitesDocument {
  /** Unix seconds the document was made at. */
  time: number
  sites: SiteEntry[]
}

export function sitesDocument(sites: readonly SiteSummary[], now: number): SitesDocument {
  return {
    time: now,
    sites: sites.map((s) => {
      const { colour, label, problems, reasons } = siteState(s, now)
      return { ...s, state: { colour, label, problems, reasons } }
    }),
  }
}

export interface HistoryDocument {
  site: string
  /** Finished runs, oldest first. */
  runs: RunStats[]
}

export function historyDocument(site: string, runs: RunStats[]): HistoryDocument {
  return { site, runs }
}
