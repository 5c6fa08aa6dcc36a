/**
 * Error classes of dynamo-consistency. Every error a user can meet has a
 * `code`; errors about an input file name the file (and the line, when one
 * line is at fault).
 */
export class ConsistencyError extends Error {
  readonly code: string
  readonly file?: string
  readonly line?: number

  constructor(code: string, message: string, where: { file?: string; line?: number } = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    if (where.file !== undefined) this.file = where.file
    if (where.line !== undefined) this.line = where.line
  }
}

/** A bad configuration file or key. */
export class ConfigError extends ConsistencyError {
  constructor(message: string, where: { file?: string; key?: string } = {}) {
    super('E_CONFIG', message, where.file === undefined ? {} : { file: where.file })
  }
}

/** Bad usage: wrong arguments or options. */
export class UsageError extends ConsistencyError {
  constructor(message: string) {
    super('E_USAGE', message)
  }
}

/** An unreadable listing file (the message names the file and line). */
export class ListingFileError extends ConsistencyError {}

/** A corrupt, truncated or foreign tree file. */
export class TreeFileError extends ConsistencyError {}

/**
 * The server refused the credentials (none, expired, untrusted, a wrong
 * key): the listing stopped at once. The message names the server and,
 * once past the listing's boundary, the credentials in force.
 */
export class AuthError extends ConsistencyError {}

/** A listing stopped by an abort signal or a halt. */
export class CancelledError extends ConsistencyError {}

/** The native module could not be loaded (the message gives the cause). */
export class NativeModuleError extends ConsistencyError {
  constructor(message: string) {
    super('E_NATIVE_MODULE', message)
  }
}

const classes: Record<
  string,
  new (
    code: string,
    message: string,
    where?: { file?: string; line?: number },
  ) => ConsistencyError
> = {
  E_BAD_LISTING: ListingFileError,
  E_BAD_TREE_FILE: TreeFileError,
  E_AUTH: AuthError,
  E_CANCELLED: CancelledError,
}

/**
 * The one boundary where native errors (`E_CODE: message`) become error
 * classes. Anything else passes through unchanged.
 */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ConsistencyError) return err
  const m = /^(E_[A-Z_]+): ([\s\S]*)$/.exec(err.message)
  if (!m) return err
  const code = m[1] as string
  const message = m[2] as string
  const where: { file?: string; line?: number } = {}
  const loc = /^(.*?):(\d+): /.exec(message)
  if (code === 'E_BAD_LISTING' && loc) {
    where.file = loc[1] as string
    where.line = Number(loc[2])
  }
  const Cls = classes[code] ?? ConsistencyError
  return new Cls(code, message, where)
}

/** Call a native function, translating its errors. */
export function native<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw fromNative(err)
  }
}

/** Await a native promise, translating its errors. */
export async function nativeAsync<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (err) {
    throw fromNative(err)
  }
}
