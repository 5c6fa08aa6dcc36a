/** What every page shares: the document frame, and the security policy it states for static copies. */
import { escapeHtml } from './html'

/**
 * The content security policy: scripts and styles from the page's own
 * assets only (no inline script runs, whatever a name holds); the server
 * sends it as a header too.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

export interface Frame {
  title: string
  /** `''` for the summary page, `'../'` for a site page. */
  root: string
  /** The browser script of the page: `summary.js` or `site.js`. */
  script: string
  /** Attributes of `<body>` (already escaped). */
  bodyAttributes: string
  header: string
  main: string
  footer?: string
  /** Load uPlot. */
  charts?: boolean
}

export function document(frame: Frame): string {
  const r = frame.root
  const chartAssets = frame.charts
    ? `<link rel="stylesheet" href="${r}assets/uPlot.min.css">\n<script src="${r}assets/uPlot.iife.min.js" defer></script>\n`
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(frame.title)}</title>
<link rel="stylesheet" href="${r}assets/style.css">
${chartAssets}<script type="module" src="${r}assets/${frame.script}"></script>
</head>
<body ${frame.bodyAttributes}>
<header class="top">${frame.header}</header>
<main id="content">
${frame.main}
</main>
<footer id="footer">${frame.footer ?? ''}</footer>
</body>
</html>
`
}
