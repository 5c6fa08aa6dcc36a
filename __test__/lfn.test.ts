/** LFNs as byte strings: conversions, lists across the native boundary, and how people see them. */
import { describe, expect, it } from 'vitest'
import {
  lfnBytes,
  lfnForDisplay,
  lfnFromBytes,
  lfnFromColumn,
  lfnFromText,
  lfnsFromBuffer,
  lfnsToBuffer,
  sortLfns,
} from '../src/lfn'

const raw = (...bytes: (string | number)[]) =>
  Buffer.concat(bytes.map((b) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from([b]))))

describe('LFNs as bytes', () => {
  it('keeps a name that is not UTF-8 apart from its look-alike', () => {
    const bad = lfnFromBytes(raw('/store/x/', 0xff, '.root'))
    const lookAlike = lfnFromText('/store/x/\ufffd.root')
    expect(bad).not.toBe(lookAlike)
    expect(lfnBytes(bad).equals(raw('/store/x/', 0xff, '.root'))).toBe(true)
    expect(lfnBytes(lookAlike).equals(raw('/store/x/', 0xef, 0xbf, 0xbd, '.root'))).toBe(true)
    expect(new Set([bad, lookAlike]).size).toBe(2)
  })

  it('reads a column given as text or as bytes to the same LFN', () => {
    const text = '/store/mc/é/x.root'
    expect(lfnFromColumn(text)).toBe(lfnFromText(text))
    expect(lfnFromColumn(Buffer.from(text, 'utf8'))).toBe(lfnFromText(text))
    expect(lfnFromColumn(new Uint8Array(Buffer.from(text, 'utf8')))).toBe(lfnFromText(text))
  })

  it('crosses as NUL-joined bytes both ways, and sorts by bytes', () => {
    const lfns = [lfnFromText('/b'), lfnFromBytes(raw('/', 0x80)), lfnFromText('/a\nb'), lfnFromText('/€')]
    const back = lfnsFromBuffer(lfnsToBuffer(lfns))
    expect(back).toEqual(lfns)
    expect(lfnsFromBuffer(Buffer.alloc(0))).toEqual([])
    expect(lfnsToBuffer([]).length).toBe(0)
    const sorted = sortLfns([...lfns]).map((l) => lfnBytes(l))
    for (let i = 1; i < sorted.length; i++) {
      expect(Buffer.compare(sorted[i - 1] as Buffer, sorted[i] as Buffer)).toBe(-1)
    }
  })

  it('shows valid UTF-8 as text and escapes every other byte, so two names never look alike', () => {
    expect(lfnForDisplay(lfnFromText('/store/mc/é€/x.root'))).toBe('/store/mc/é€/x.root')
    expect(lfnForDisplay(lfnFromBytes(raw('/x/', 0xff, '.root')))).toBe('/x/\\xff.root')
    expect(lfnForDisplay(lfnFromText('/x/\ufffd.root'))).toBe('/x/\ufffd.root')
    expect(lfnForDisplay(lfnFromText('/x/a\nb\\c'))).toBe('/x/a\\x0ab\\\\c')
    // a truncated sequence and a lone continuation byte
    expect(lfnForDisplay(lfnFromBytes(raw('/x/', 0xe2, 0x82)))).toBe('/x/\\xe2\\x82')
    expect(lfnForDisplay(lfnFromBytes(raw('/x/', 0x80, 'a')))).toBe('/x/\\x80a')
    // an escaped backslash-x in a real name stays apart from an escaped byte
    expect(lfnForDisplay(lfnFromText('/x/\\xff'))).not.toBe(lfnForDisplay(lfnFromBytes(raw('/x/', 0xff))))
  })
})
