package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// feedServer serves an Atom feed, or hangs every request (no status line,
// no bytes) until the client gives up or the test ends.
type feedServer struct {
	mu      sync.Mutex
	hang    bool
	entries []string // ids, oldest first
	times   map[string]time.Time
	hung    int // requests that hung
	served  int
	stop    chan struct{}
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hang := f.hang
	if hang {
		f.hung++
	}
	f.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served++
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><id>tag:status.example.com,2005:/history</id><title>Shop status</title>`)
	for i := len(f.entries) - 1; i >= 0; i-- {
		id := f.entries[i]
		fmt.Fprintf(&b, `<entry><id>%s</id><updated>%s</updated><link href="https://status.example.com/%s"/><title>Checkout errors %s</title><content type="text">We are investigating errors in checkout.</content></entry>`,
			id, f.times[id].Format(time.RFC3339Nano), id, id)
	}
	b.WriteString(`</feed>`)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func (f *feedServer) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := fmt.Sprintf("tag:status.example.com,2005:Incident/%d", len(f.entries)+1)
		f.entries = append(f.entries, id)
		f.times[id] = time.Now().UTC().Add(-time.Minute).Add(time.Duration(len(f.entries)) * time.Millisecond)
	}
}

func (f *feedServer) setHang(h bool) {
	f.mu.Lock()
	f.hang = h
	f.mu.Unlock()
}

// storedPosts counts the posts of a source in the POSTS stream by id.
func storedPosts(t *testing.T, js jetstream.JetStream, source string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamPosts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		var p signals.Post
		if json.Unmarshal(m.Data, &p) == nil && p.Source == source {
			got[p.ID]++
		}
	}
	return got
}

// TestFaultHangingCrawl points a feed source at a server that hangs: polls
// time out, metric pushes are acknowledged and stored all along, the
// daemon stays ready, and once the server answers every item arrives once;
// a clean stop while a poll hangs still exits promptly.
func TestFaultHangingCrawl(t *testing.T) {
	t.Parallel()
	feed := &feedServer{hang: true, times: map[string]time.Time{}, stop: make(chan struct{})}
	srv := httptest.NewServer(feed)
	t.Cleanup(func() { close(feed.stop); srv.Close() })
	data := filepath.Join(t.TempDir(), "data")
	d := newDaemon(t, embeddedConfig(data, `
sources:
  - name: status
    type: feed
    service: shop
    interval: 1s
    timeout: 1s
    options: {url: "`+srv.URL+`/history.atom"}
`))
	l := newLedger()
	ready := func() {
		res, err := http.Get("http://" + d.addr + "/readyz")
		if err != nil {
			t.Errorf("readyz while the crawl hangs: %v", err)
			return
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("readyz while the crawl hangs: %d", res.StatusCode)
		}
	}
	pushDuring(t, d, l, 50*time.Millisecond,
		sleep(3*time.Second), ready,
		func() { feed.add(20); feed.setHang(false) },
		sleep(3*time.Second),
		func() { feed.add(20); feed.setHang(true) },
		sleep(2500*time.Millisecond),
		func() { feed.setHang(false) },
		sleep(3*time.Second),
		func() { feed.setHang(true) },
		sleep(1500*time.Millisecond),
	)
	start := time.Now()
	d.stop() // while a poll hangs
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping while a poll hangs took %s", took)
	}
	b := openData(t, data)
	posts := storedPosts(t, b.JS, "status")
	feed.mu.Lock()
	served, hung, total := feed.served, feed.hung, len(feed.entries)
	missing := 0
	for _, id := range feed.entries {
		if posts[id] == 0 {
			missing++
		}
	}
	feed.mu.Unlock()
	pr := row{scenario: "crawled server hangs: posts", sent: total, acked: total, stored: len(posts), lost: missing,
		halts: fmt.Sprintf("%d polls hung, %d answered", hung, served)}
	for _, n := range posts {
		pr.duplicated += n - 1
	}
	record(t, pr)
	stored := storedProbes(t, b.JS)
	mr := count("crawled server hangs: metrics", l, stored)
	record(t, mr)
	if hung < 2 {
		t.Errorf("only %d polls hung; the scenario did not exercise a hang", hung)
	}
	if missing > 0 || pr.duplicated > 0 {
		t.Errorf("posts: %d of %d missing, %d duplicated", missing, total, pr.duplicated)
	}
	checkIngest(t, mr, l, stored)
}
