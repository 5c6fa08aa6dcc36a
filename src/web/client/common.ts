// What the browser scripts of the pages share (ES modules, as the browser loads them).

/**
 * The page's clock in unix seconds: the server's for a page `web serve`
 * made (a browser's clock may be off), the browser's for a static copy
 * (which ages as it sits).
 */
const skew = document.body.dataset.live === '1' ? Number(document.body.dataset.now) - Date.now() / 1000 : 0

export function dcNow(): number {
  return Math.floor(Date.now() / 1000 + (Number.isFinite(skew) ? skew : 0))
}

/** A span of time as the server writes it: "40 s", "5 min", "3 h", "2 d". */
export function dcSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86400 * 2) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / 86400)} d`
}

const COLOURS = ['green', 'blue', 'yellow', 'grey', 'red', 'none']

/**
 * Apply what changes with time alone: a colour whose `data-until` has
 * passed becomes its `data-then` (a static copy of the page never shows a
 * stale green), and "3 h ago" texts follow the clock.
 */
export function dcTick(root: ParentNode): void {
  const now = dcNow()
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-until]'))) {
    const then = el.dataset.then
    if (now < Number(el.dataset.until) || !then) continue
    el.classList.remove(...COLOURS)
    el.classList.add(then)
    el.dataset.colour = then
    delete el.dataset.until
    delete el.dataset.then
  }
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('time[data-time]'))) {
    const age = now - Number(el.dataset.time)
    el.textContent = age < 60 ? 'just now' : `${dcSpan(age)} ago`
  }
}

/**
 * Every `data-refresh` seconds of `<body>`, fetch the page anew and hand
 * the new document to `swap`; `status` is told how it went. Works served
 * and as a static copy.
 */
export function dcRefresh(swap: (next: Document) => void, status: (text: string, failed: boolean) => void): void {
  const seconds = Number(document.body.dataset.refresh ?? '60')
  if (!(seconds > 0)) return
  const again = async () => {
    try {
      const response = await fetch(location.href, { cache: 'no-store' })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      const next = new DOMParser().parseFromString(await response.text(), 'text/html')
      swap(next)
      dcTick(document)
      status(`refreshed ${new Date().toLocaleTimeString()}`, false)
    } catch (err) {
      status(`refresh failed ${new Date().toLocaleTimeString()}: ${(err as Error).message}`, true)
    }
  }
  setInterval(again, seconds * 1000)
  setInterval(() => dcTick(document), 30000)
}

/** Replace an element by its namesake (same id) in another document, when both exist. */
export function dcReplace(next: Document, id: string): void {
  const mine = document.getElementById(id)
  const theirs = next.getElementById(id)
  if (mine && theirs) mine.replaceWith(document.importNode(theirs, true))
}
