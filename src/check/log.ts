/** The log of one check run: `VarLocation/logs/SITE/YYYYMMDD-HHMMSS.log`, one timestamped line a message. */
import * as fs from 'node:fs'
import * as path from 'node:path'

export class RunLog {
  readonly file: string
  private readonly fd: number

  constructor(
    dir: string,
    private readonly echo?: (line: string) => void,
  ) {
    fs.mkdirSync(dir, { recursive: true })
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
    let file = path.join(dir, `${stamp}.log`)
    for (let n = 1; fs.existsSync(file); n++) file = path.join(dir, `${stamp}.${n}.log`)
    this.file = file
    this.fd = fs.openSync(file, 'a')
  }

  info(message: string): void {
    const line = `${new Date().toISOString()} ${message}`
    fs.writeSync(this.fd, `${line}\n`)
    this.echo?.(line)
  }

  close(): void {
    fs.closeSync(this.fd)
  }
}
