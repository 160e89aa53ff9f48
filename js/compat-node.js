// tuswasm/compat under Node's "node" export condition: tus-js-client's shape, with
// node.js's setup (the module read from disk, the in-process lock, memory as the
// default storage) in place before any upload starts.
import './node.js'

export * from './compat.js'
