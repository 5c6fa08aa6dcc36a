/** A list in slices of at most `size` entries (a query's parameters at a time). */
export function chunks<T>(list: readonly T[], size = 500): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}
