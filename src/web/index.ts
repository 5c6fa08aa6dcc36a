/** The summary web page: served (`web serve`) or exported into WebDir (`web install`). */
export { type HistoryDocument, historyDocument, type SiteEntry, type SitesDocument, sitesDocument } from './api'
export { type InstallOptions, type InstallReport, installWeb } from './install'
export { escapeLabel, isGoodRun, lastGoodRuns, metricsText } from './metrics'
export { type ServeOptions, startWebServer, type WebServer } from './server'
export { historyColumns, sitePage } from './site-page'
export { type Problem, type SiteColour, type SiteState, siteState } from './state'
export { summaryPage } from './summary-page'
