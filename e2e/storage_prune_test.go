package e2e

import "testing"

// Uploads prune storage.js's storages at most every 10 minutes, but a call whose
// storageMaxAgeMs is shorter than the last prune's age still drops what it counts
// stale: an entry unused for an hour goes with a call that says a minute, right after
// a call (a week) pruned.
func TestStoragePruneHonoursShorterMaxAge(t *testing.T) {
	e := newEnv(t)
	o := eval[outcome](e, `run(async () => {
		const entry = (fp, msAgo) => localStorage.setItem('tuswasm::' + fp, JSON.stringify({fingerprint: fp, url: location.origin + '/files/x' + fp,
			size: 5, createdAt: new Date(Date.now() - msAgo).toISOString().slice(0, 19) + 'Z'}))
		const opts = {endpoint: '/files/', chunkSize: 4, adaptiveChunkSize: false} // not sent whole: stored, prunes
		await tus.createAndUpload(makeFile(10, 160), opts)
		entry('tus2-hour', 3600000)
		await tus.createAndUpload(makeFile(10, 161), opts)
		const kept = Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length
		await tus.createAndUpload(makeFile(10, 162), {...opts, storageMaxAgeMs: 60000})
		return {kept, left: Object.keys(localStorage).filter(k => k.startsWith('tuswasm::'))}
	})`)
	var got struct {
		Kept int
		Left []string
	}
	if mustJSON(t, o.Value, &got); !o.OK || got.Kept != 1 || len(got.Left) != 0 {
		t.Fatalf("%+v %+v: want the hour-old entry kept by a week's age, dropped by a minute's", o, got)
	}
}
