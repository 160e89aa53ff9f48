// Starts one of the Node tus servers the e2e suite tests against, on 127.0.0.1 at a
// free port, storing uploads in a directory: `node serve.mjs <tus-node|uploadx> <dir>`.
// It prints "listening <port>" once ready and runs until killed. Test support only.
import http from 'node:http'

const [kind, dir] = process.argv.slice(2)
if (!dir) {
  console.error('usage: node serve.mjs <tus-node|uploadx> <dir>')
  process.exit(2)
}

async function handler () {
  switch (kind) {
    case 'tus-node': {
      // @tus/server with its file store, as its README sets it up; expiration on, so
      // that Upload-Expires and 410 are part of what the client meets.
      const { Server } = await import('@tus/server')
      const { FileStore } = await import('@tus/file-store')
      const server = new Server({
        path: '/files',
        datastore: new FileStore({ directory: dir, expirationPeriodInMilliseconds: 60 * 60 * 1000 }),
      })
      return (req, res) => server.handle(req, res)
    }
    case 'uploadx': {
      // @uploadx/core's tus handler with its disk storage; it verifies checksums itself.
      const { Tus } = await import('@uploadx/core')
      const tus = new Tus({ directory: dir, path: '/files', logLevel: 'none' })
      return tus.handle
    }
  }
  console.error(`unknown server kind ${kind}`)
  process.exit(2)
}

const handle = await handler()
const server = http.createServer(handle)
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`))
