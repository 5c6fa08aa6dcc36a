/**
 * LFNs in JavaScript. A name on storage is bytes (any byte but NUL, and `/`
 * between components), and need not be UTF-8. A string decoded from UTF-8
 * would turn every invalid byte into U+FFFD, so that `/x/\xff.root` and
 * `/x/\xef\xbf\xbd.root` (valid UTF-8 for U+FFFD) became the same string,
 * and a deletion request made from one named the other.
 *
 * So an `Lfn` is a *byte string*: one UTF-16 code unit (0 to 255) for each
 * byte of the name, as Node's `latin1` encoding makes it. Equal bytes give
 * equal strings, so `Set`, `Map` and `===` work; sorting by code unit is
 * sorting by bytes. Ordinary text (configuration patterns, dataset names)
 * becomes an `Lfn` through `lfnFromText`; an `Lfn` is shown to people
 * through `lfnForDisplay`. The brand keeps the two kinds apart in the types.
 */
declare const lfnBrand: unique symbol

/** The bytes of a name, one code unit (0-255) for each byte. */
export type Lfn = string & { readonly [lfnBrand]: true }

/** The LFN of these bytes. */
export function lfnFromBytes(bytes: Uint8Array): Lfn {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') as Lfn
}

/** The LFN of a text, encoded as UTF-8 (what a name typed or configured stands for). */
export function lfnFromText(text: string): Lfn {
  return Buffer.from(text, 'utf8').toString('latin1') as Lfn
}

/** The bytes of an LFN. */
export function lfnBytes(lfn: Lfn): Buffer {
  return Buffer.from(lfn, 'latin1')
}

/** An LFN read from a database column: text (valid UTF-8) or a `Buffer` of its bytes. */
export function lfnFromColumn(value: unknown): Lfn {
  if (Buffer.isBuffer(value)) return lfnFromBytes(value)
  if (value instanceof Uint8Array) return lfnFromBytes(value)
  return lfnFromText(String(value))
}

/** The LFNs of a buffer of names each followed by a NUL byte (how lists cross from Rust). */
export function lfnsFromBuffer(buf: Uint8Array): Lfn[] {
  if (buf.length === 0) return []
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1')
  return text.slice(0, text.endsWith('\0') ? -1 : undefined).split('\0') as Lfn[]
}

/** Names joined, each followed by a NUL byte: how lists cross to Rust. */
export function lfnsToBuffer(lfns: readonly Lfn[]): Buffer {
  return lfns.length ? Buffer.from(`${lfns.join('\0')}\0`, 'latin1') : Buffer.alloc(0)
}

/** Sort LFNs by their bytes. */
export function sortLfns<T extends Lfn>(lfns: T[]): T[] {
  return lfns.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * An LFN for people: valid UTF-8 is shown as text; every byte that is not
 * part of valid UTF-8, and every control character, as `\xHH`; a backslash
 * as `\\`. Names that differ in a byte that is not valid UTF-8 or a
 * control character never look the same (look-alike letters of Unicode can).
 */
export function lfnForDisplay(lfn: Lfn): string {
  const bytes = lfnBytes(lfn)
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  // the fast way when the bytes are UTF-8 with nothing to escape
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be escaped
  if (!/[\\\u0000-\u001f\u007f\ufffd]/.test(text)) return text
  let out = ''
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i] as number
    const width =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (width === 1) {
      out +=
        b === 0x5c ? '\\\\' : b < 0x20 || b === 0x7f ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b)
      i++
      continue
    }
    const piece = width > 1 ? bytes.subarray(i, i + width) : null
    let decoded: string | null = null
    if (piece && piece.length === width) {
      try {
        decoded = new TextDecoder('utf-8', { fatal: true }).decode(piece)
      } catch {
        decoded = null
      }
    }
    if (decoded !== null) {
      out += decoded
      i += width
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`
      i++
    }
  }
  return out
}
