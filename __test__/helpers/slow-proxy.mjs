// A TCP proxy in front of an XRootD server that passes each request on
// `delayMs` after the previous one of the same connection, as a busy storage
// door answers: requests sent together (pipelined) still wait their turn,
// one after another. Requests are cut from the client's byte stream: a
// 20-byte handshake, then frames of a 24-byte header whose last four bytes
// give the body length. `requests` counts what passed, by request id
// (XProtocol's kXR_dirlist is 3004, kXR_locate 3027).
//
// Shared by the tests (in process) and the XRootD benchmark (on a worker
// thread, since its commands run synchronously on the main one).
import * as net from 'node:net'

/**
 * @param {number} upstreamPort
 * @param {number} delayMs
 * @returns {Promise<{ port: number, requests: Map<number, number>, close: () => Promise<void> }>}
 */
export async function startSlowProxy(upstreamPort, delayMs) {
  /** @type {net.Socket[]} */
  const sockets = []
  /** @type {Map<number, number>} */
  const requests = new Map()
  const server = net.createServer((client) => {
    client.setNoDelay(true)
    const up = net.connect(upstreamPort, '127.0.0.1')
    up.setNoDelay(true)
    sockets.push(client, up)
    let buf = Buffer.alloc(0)
    let handshake = 20
    let releaseAt = 0
    client.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      if (handshake > 0) {
        const n = Math.min(handshake, buf.length)
        up.write(buf.subarray(0, n))
        buf = buf.subarray(n)
        handshake -= n
      }
      while (handshake === 0 && buf.length >= 24) {
        const size = 24 + buf.readInt32BE(20)
        if (buf.length < size) break
        const request = buf.subarray(0, size)
        buf = buf.subarray(size)
        const id = request.readUInt16BE(2)
        requests.set(id, (requests.get(id) ?? 0) + 1)
        releaseAt = Math.max(Date.now(), releaseAt) + delayMs
        setTimeout(() => up.write(request), releaseAt - Date.now())
      }
    })
    up.on('data', (chunk) => client.write(chunk))
    const close = () => {
      client.destroy()
      up.destroy()
    }
    for (const s of [client, up]) {
      s.on('error', close)
      s.on('close', close)
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = /** @type {net.AddressInfo} */ (server.address())
  return {
    port: address.port,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve(undefined))
      }),
  }
}
