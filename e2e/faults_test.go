package e2e

// The kinds of fault that the fault matrix (matrix_test.go) and the chaos soak
// (soak_test.go) inject, defined once: the matrix arms each kind at one point of an
// upload, the soak at random ones.
const (
	kReset   = "reset"   // the connection closes without a reply, after part of the body
	k5xx     = "5xx"     // a burst of 500/502/503/504, with or without Retry-After
	k409     = "409"     // a PATCH answered 409 (offset mismatch)
	kLock    = "lock"    // tusd interrupts a stalled PATCH: another request wants its lock
	kPartial = "partial" // tusd stores only part of a body and says so
	kRestart = "restart" // tusd goes down and comes back on the same port and directory
	kOffline = "offline" // the browser goes offline briefly
	kReload  = "reload"  // the page reloads; the new page resumes from localStorage
	kPause   = "pause"   // AbortSignal, then the same call again (resumes from localStorage)
	kSlow    = "slow"    // the request is never answered; requestTimeoutMs gives up on it
)

// faultScenario names each kind in the matrix's scenarios (pause is the soak's only:
// the matrix covers it in TestServers and the resume tests).
var faultScenario = map[string]string{
	kReset:   "reset mid-PATCH",
	k5xx:     "5xx burst",
	k409:     "409 mismatch",
	kLock:    "lock interrupted",
	kPartial: "partial acceptance",
	kRestart: "server restart",
	kOffline: "offline 10s",
	kReload:  "page reload",
	kSlow:    "slow server",
}
