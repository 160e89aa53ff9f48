package main

import (
	"slices"
	"time"
)

// fileTime is when the page called the uploader for one file and when its Promise
// settled, in ms since the epoch (the page's clock and tusd's are the machine's).
type fileTime struct {
	File    string  `json:"file"`
	Call    float64 `json:"call"`
	Settled float64 `json:"settled"`
}

// fileBreakdown is where a small file's time goes, as medians over the files of a run:
// from the call to its first request reaching tusd (the client's start: its checks,
// fingerprint, storage and lock, then the request's setup), tusd's time inside the
// requests, the client's time between one reply and its next request, and from the last
// reply to the settled Promise. The added round trip is not in any of them: every
// request waits it out before tusd sees it.
type fileBreakdown struct {
	BeforeMs  float64 `json:"call_to_request_ms"`
	ServerMs  float64 `json:"server_ms"`
	BetweenMs float64 `json:"between_requests_ms"`
	AfterMs   float64 `json:"reply_to_settled_ms"`
	TotalMs   float64 `json:"total_ms"`
	Requests  float64 `json:"requests"`
	// The spread of the files' totals: what a median hides (files/s follows the mean).
	TotalMeanMs float64 `json:"total_mean_ms"`
	TotalP90Ms  float64 `json:"total_p90_ms"`
	TotalMaxMs  float64 `json:"total_max_ms"`
}

// breakdown matches each file's requests (by X-Bench-File) with its times; nil when
// none match.
func breakdown(times []fileTime, spans []span, rtt time.Duration) *fileBreakdown {
	byFile := map[string][]span{}
	for _, s := range spans {
		byFile[s.file] = append(byFile[s.file], s)
	}
	ms := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }
	delay := float64(rtt) / float64(time.Millisecond)
	var before, server, between, after, total, requests []float64
	for _, t := range times {
		ss := byFile[t.File]
		if len(ss) == 0 {
			continue
		}
		var busy, gaps float64
		for i, s := range ss {
			busy += ms(s.end) - ms(s.start)
			if i > 0 {
				gaps += ms(s.start) - delay - ms(ss[i-1].end)
			}
		}
		before = append(before, ms(ss[0].start)-delay-t.Call)
		server = append(server, busy)
		between = append(between, gaps)
		after = append(after, t.Settled-ms(ss[len(ss)-1].end))
		total = append(total, t.Settled-t.Call)
		requests = append(requests, float64(len(ss)))
	}
	if len(total) == 0 {
		return nil
	}
	med := func(v []float64) float64 { return round(median(slices.Clone(v)), 2) }
	sorted := slices.Sorted(slices.Values(total))
	sum := 0.0
	for _, v := range total {
		sum += v
	}
	return &fileBreakdown{BeforeMs: med(before), ServerMs: med(server), BetweenMs: med(between), AfterMs: med(after), TotalMs: med(total), Requests: med(requests),
		TotalMeanMs: round(sum/float64(len(total)), 2), TotalP90Ms: round(sorted[len(sorted)*9/10], 2), TotalMaxMs: round(sorted[len(sorted)-1], 2)}
}
