/**
 * `web serve`: the summary page, the site pages, their JSON, the
 * Prometheus metrics, the result lists and the logs over HTTP, read-only,
 * from a `SummaryReader` (every request reads the store afresh). The URLs
 * are those of the static export (`web install`), so a page links the same
 * way wherever it is served from; `/api/sites` and `/metrics` answer
 * without their `.json` and `.txt` too.
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { config } from '../config'
import type { SummaryReader } from '../summary/types'
import { now } from '../time'
import { historyDocument, sitesDocument } from './api'
import { asset } from './assets'
import { isListFileName, latestLog, runningConfiguration } from './files'
import { siteFromFileName } from './html'
import { lastGoodRuns, metricsText } from './metrics'
import { CONTENT_SECURITY_POLICY } from './page'
import { sitePage } from './site-page'
import { summaryPage } from './summary-page'

export interface ServeOptions {
  reader: SummaryReader
  /** @default '127.0.0.1' */
  host?: string
  /** 0 picks a free port. @default 8080 */
  port?: number
  /** Seconds between the pages' refreshes of themselves. @default 60 */
  refresh?: number
  /** The clock, unix seconds. @default the system clock */
  now?: () => number
}

export interface WebServer {
  /** The base URL, ending in `/`. */
  url: string
  port: number
  close(): Promise<void>
}

interface Reply {
  status: number
  type: string
  body: string | Buffer | fs.ReadStream
  headers?: Record<string, string>
}

const text = (status: number, body: string): Reply => ({ status, type: 'text/plain; charset=utf-8', body })
const json = (body: unknown): Reply => ({
  status: 200,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(body),
})
const html = (body: string): Reply => ({ status: 200, type: 'text/html; charset=utf-8', body })
const notFound = () => text(404, 'not found\n')

function file(location: string | null, type: string): Reply {
  if (location === null) return notFound()
  try {
    const stat = fs.statSync(location)
    if (!stat.isFile()) return notFound()
    return { status: 200, type, body: fs.createReadStream(location), headers: { 'Content-Length': String(stat.size) } }
  } catch {
    return notFound()
  }
}

/** The path's segments, each percent-decoded on its own (so `%2F` stays inside its segment), or null. */
function segments(pathname: string): string[] | null {
  try {
    return pathname.split('/').slice(1).map(decodeURIComponent)
  } catch {
    return null
  }
}

/** Answer one GET. */
export async function route(pathname: string, options: Required<Omit<ServeOptions, 'host' | 'port'>>): Promise<Reply> {
  const { reader } = options
  const now = options.now()
  const parts = segments(pathname)
  if (parts === null) return text(400, 'bad path\n')
  const [first = '', second, third, fourth] = parts
  const pageOptions = { now, refresh: options.refresh, live: true }
  if (parts.length === 1) {
    if (first === '' || first === 'index.html') return html(summaryPage(await reader.sites(), pageOptions))
    if (first === 'metrics' || first === 'metrics.txt') {
      const sites = await reader.sites()
      const body = metricsText(sites, now, await lastGoodRuns(reader, sites))
      return { ...text(200, body), type: 'text/plain; version=0.0.4; charset=utf-8' }
    }
    if (first === 'config.json') return { ...json(null), body: runningConfiguration() }
    if (isListFileName(first)) return file(path.join(config.resolvePath('WebDir'), first), 'text/plain; charset=utf-8')
    return notFound()
  }
  if (first === 'assets' && parts.length === 2 && second !== undefined) {
    const found = asset(second)
    return found ? { status: 200, type: found.type, body: found.body } : notFound()
  }
  if (first === 'logs' && parts.length === 2 && second?.endsWith('.log')) {
    const site = siteFromFileName(second.slice(0, -'.log'.length))
    return file(site === null ? null : latestLog(site), 'text/plain; charset=utf-8')
  }
  if (first === 'sites' && parts.length === 2 && second?.endsWith('.html')) {
    const site = siteFromFileName(second.slice(0, -'.html'.length))
    const summary = site === null ? undefined : (await reader.sites()).find((s) => s.site === site)
    if (!summary) return notFound()
    return html(sitePage(summary, await reader.history(summary.site), pageOptions))
  }
  if (first === 'api' && second !== undefined) {
    if (parts.length === 2 && (second === 'sites' || second === 'sites.json')) {
      return json(sitesDocument(await reader.sites(), now))
    }
    if (parts.length === 4 && second === 'sites' && third !== undefined && /^history(\.json)?$/.test(fourth ?? '')) {
      const sites = await reader.sites()
      // the site's own name, or its file name as the static export spells it
      const summary = sites.find((s) => s.site === third) ?? sites.find((s) => s.site === siteFromFileName(third))
      if (!summary) return { ...json({ error: `no site ${third}` }), status: 404 }
      return json(historyDocument(summary.site, await reader.history(summary.site)))
    }
  }
  return notFound()
}

function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply): void {
  res.statusCode = reply.status
  res.setHeader('Content-Type', reply.type)
  res.setHeader('Cache-Control', 'no-cache')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
  if (reply.type.startsWith('text/html')) {
    res.setHeader('Content-Security-Policy', `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`)
  }
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v)
  const body = reply.body
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    res.setHeader('Content-Length', Buffer.byteLength(body))
    res.end(req.method === 'HEAD' ? undefined : body)
  } else if (req.method === 'HEAD') {
    body.destroy()
    res.end()
  } else {
    body.on('error', () => res.destroy())
    body.pipe(res)
  }
}

/** Start serving; resolves once the server listens. */
export function startWebServer(options: ServeOptions): Promise<WebServer> {
  const resolved = {
    reader: options.reader,
    refresh: options.refresh ?? 60,
    now: options.now ?? now,
  }
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      send(req, res, text(405, 'read-only: GET and HEAD only\n'))
      return
    }
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    route(pathname, resolved).then(
      (reply) => send(req, res, reply),
      (err: unknown) => send(req, res, text(500, `${err instanceof Error ? err.message : String(err)}\n`)),
    )
  })
  const host = options.host ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject)
      const port = (server.address() as AddressInfo).port
      const shown = host.includes(':') ? `[${host}]` : host
      resolve({
        url: `http://${shown}:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
