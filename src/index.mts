/**
 * The ES module entry of dynamo-consistency: the CommonJS package's exports
 * (`import { compare } from 'dynamo-consistency'`), one module instance with
 * `require`.
 */
export * from './index.js'
