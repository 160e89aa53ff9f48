// A minimal app that depends on the packed tuswasm package by name, as a bundler user's
// would. The e2e suite builds it with `vite build` and uploads through the result.
import * as tus from 'tuswasm'
import { pattern } from './pattern.js'

window.tus = tus
window.pattern = pattern
window.tusReady = tus.init({ worker: new URLSearchParams(location.search).has('worker') }).then(() => true)
