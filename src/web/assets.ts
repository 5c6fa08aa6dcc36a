/** The page's assets by name (`assets/NAME`): the stylesheet, the browser scripts and the bundled uPlot. */
import * as fs from 'node:fs'
import { ASSETS } from './files'
import { STYLESHEET } from './style'

export interface Asset {
  type: string
  body: Buffer
}

const cache = new Map<string, Asset>()

/** An asset's content, or null for a name that is not one. Read once: assets do not change while serving. */
export function asset(name: string): Asset | null {
  const cached = cache.get(name)
  if (cached) return cached
  let found: Asset | null = null
  if (name === 'style.css') found = { type: 'text/css; charset=utf-8', body: Buffer.from(STYLESHEET) }
  else if (Object.hasOwn(ASSETS, name)) {
    const spec = ASSETS[name] as (typeof ASSETS)[string]
    found = { type: `${spec.type}; charset=utf-8`, body: fs.readFileSync(spec.file()) }
  }
  if (found) cache.set(name, found)
  return found
}

/** Every asset name. */
export function assetNames(): string[] {
  return ['style.css', ...Object.keys(ASSETS)]
}
