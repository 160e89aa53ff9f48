package engine

import "sync"

// Offers remembers, per upload URL, the end of the byte ranges this process has
// offered to it. Some servers go on storing a request's body after the client gave
// up on it (@tus/server writes what it buffered after the next request has begun), so a
// later call may see an offset past everything it sent itself; with the record those
// bytes are known to be the file's own, and an offset past every byte ever offered is
// still a lie. Safe for concurrent use; share one across the Clients of a process.
type Offers struct {
	mu  sync.Mutex
	end map[string]int64
}

// maxOffers bounds the record; a URL that falls out of it has no record (then the
// first HEAD of a call is the bound).
const maxOffers = 1024

// NewOffers returns an empty record.
func NewOffers() *Offers { return &Offers{end: map[string]int64{}} }

// lookup returns how far this process offered bytes to url (0 without a record).
func (o *Offers) lookup(url string) int64 {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.end[url]
}

// note records that bytes up to end have been offered to url.
func (o *Offers) note(url string, end int64) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.end[url]; !ok && len(o.end) >= maxOffers {
		for k := range o.end { // any one
			delete(o.end, k)
			break
		}
	}
	o.end[url] = max(o.end[url], end)
}

// forget drops url's record (its upload is complete or deleted).
func (o *Offers) forget(url string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.end, url)
}
