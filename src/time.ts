/** Time as the tool counts it: unix seconds. */

/** Seconds in a day. */
export const DAY = 86_400

/** The time now, in whole unix seconds. */
export function now(): number {
  return Math.floor(Date.now() / 1000)
}
