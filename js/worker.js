// The dedicated module worker init({worker: true}) starts: it runs the Go program and
// serves the page's channel (host.js, the same code main-thread mode runs on the page).
import { serve } from './host.js'

serve(self)
