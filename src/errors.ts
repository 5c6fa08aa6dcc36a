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
  constructor(message: string, where: { file?: string } = {}) {
    super('E_CONFIG', message, where)
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
