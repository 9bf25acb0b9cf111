// Package crawlertest is the shared test kit of sources: an embedded bus, a
// reader of what was published, and CheckPoller, the promises every poller
// makes.
package crawlertest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// StartBus starts an embedded bus storing under a temporary directory and
// closes it when the test ends.
func StartBus(t testing.TB) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting embedded bus: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Cursors returns the bus's cursors bucket.
func Cursors(t testing.TB, b *bus.Bus) jetstream.KeyValue {
	t.Helper()
	kv, err := b.KV(context.Background(), bus.BucketCursors)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// Spec parses one source spec from YAML and validates it.
func Spec(t testing.TB, text string) crawlers.Spec {
	t.Helper()
	var s crawlers.Spec
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("parsing spec: %v", err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("validating spec: %v", err)
	}
	return s
}

// Msg is one message read back from a stream.
type Msg struct {
	Subject string
	MsgID   string // the Nats-Msg-Id header
	Data    []byte
}

// Collect reads the stream holding subject from its start with an ordered
// consumer until it has n messages, failing the test if they do not all
// arrive within timeout.
func Collect(t testing.TB, js jetstream.JetStream, stream, subject string, n int, timeout time.Duration) []Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatalf("creating ordered consumer on %s: %v", stream, err)
	}
	var msgs []Msg
	for len(msgs) < n {
		wait := time.Until(deadline(ctx))
		if wait < 10*time.Millisecond {
			break
		}
		batch, err := c.Fetch(n-len(msgs), jetstream.FetchMaxWait(wait))
		if err != nil {
			t.Fatalf("fetching from %s: %v", stream, err)
		}
		for m := range batch.Messages() {
			msgs = append(msgs, Msg{Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader), Data: m.Data()})
		}
	}
	if len(msgs) < n {
		t.Fatalf("read %d messages on %s within %s, want %d", len(msgs), subject, timeout, n)
	}
	return msgs
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// Stored returns how many messages a stream holds.
func Stored(t testing.TB, js jetstream.JetStream, stream string) int {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

// CollectPosts reads n posts from posts.> (see Collect), checks each is a
// valid post published with Nats-Msg-Id <source>:<id> on posts.<source>,
// and returns them in stream order.
func CollectPosts(t testing.TB, js jetstream.JetStream, n int, timeout time.Duration) []signals.Post {
	t.Helper()
	var posts []signals.Post
	for _, m := range Collect(t, js, bus.StreamPosts, "posts.>", n, timeout) {
		v, err := signals.Decode(m.Data)
		if err != nil {
			t.Fatalf("decoding post on %s: %v", m.Subject, err)
		}
		p := *v.(*signals.Post)
		if m.MsgID != p.MsgID() {
			t.Errorf("post %s published with Nats-Msg-Id %q, want %q", p.ID, m.MsgID, p.MsgID())
		}
		if m.Subject != bus.PostSubject(p.Source) {
			t.Errorf("post %s published on %s, want %s", p.ID, m.Subject, bus.PostSubject(p.Source))
		}
		posts = append(posts, p)
	}
	return posts
}

// CollectMetrics reads n metric samples from metrics.> (see Collect).
func CollectMetrics(t testing.TB, js jetstream.JetStream, n int, timeout time.Duration) []signals.MetricSample {
	t.Helper()
	var out []signals.MetricSample
	for _, m := range Collect(t, js, bus.StreamMetrics, "metrics.>", n, timeout) {
		var s signals.MetricSample
		if err := json.Unmarshal(m.Data, &s); err != nil {
			t.Fatalf("decoding metric sample on %s: %v", m.Subject, err)
		}
		out = append(out, s)
	}
	return out
}

// IDs returns the ids of posts.
func IDs(posts []signals.Post) []string {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	return ids
}

// maxPages bounds how many pages CheckPoller follows while Page.More.
const maxPages = 20

// CheckPoller checks the promises every poller makes, against a source whose
// upstream does not change during the check and holds at least one post:
//   - a first poll from the empty cursor succeeds and finds posts, each
//     valid, with a source, service and native id, none twice;
//   - it returns a cursor;
//   - polling again with that cursor finds none of those posts again, and
//     again after that (the cursor does not move back);
//   - polling again from the empty cursor finds the same ids (stable ids).
func CheckPoller(t *testing.T, p crawlers.Poller) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first, cursor := drain(ctx, t, p, "")
	if len(first) == 0 {
		t.Fatal("first poll found no posts; CheckPoller needs an upstream holding some")
	}
	seen := make(map[string]bool)
	for _, post := range first {
		if err := post.Validate(); err != nil {
			t.Errorf("post %q: %v", post.ID, err)
		}
		if post.Source == "" || post.Service == "" || post.ID == "" {
			t.Errorf("post %+v lacks a source, service or id", post)
		}
		if seen[post.MsgID()] {
			t.Errorf("post %q returned twice in one run", post.ID)
		}
		seen[post.MsgID()] = true
	}
	if cursor == "" {
		t.Error("no cursor after a poll that found posts")
	}

	for round := 1; round <= 2; round++ {
		again, next := drain(ctx, t, p, cursor)
		for _, post := range again {
			if seen[post.MsgID()] {
				t.Errorf("poll %d with the saved cursor repeated post %q", round, post.ID)
			}
		}
		if next != "" {
			cursor = next
		}
	}

	fresh, _ := drain(ctx, t, p, "")
	a, b := IDs(first), IDs(fresh)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("ids are not stable across runs from the empty cursor:\nfirst  %q\nsecond %q", a, b)
	}
}

// drain polls from cursor, following Page.More, and returns every post and
// the last cursor.
func drain(ctx context.Context, t *testing.T, p crawlers.Poller, cursor string) ([]signals.Post, string) {
	t.Helper()
	var posts []signals.Post
	for i := 0; i < maxPages; i++ {
		page, err := p.Poll(ctx, cursor)
		if err != nil {
			t.Fatalf("poll with cursor %q: %v", cursor, err)
		}
		posts = append(posts, page.Posts...)
		if page.Cursor != "" {
			cursor = page.Cursor
		}
		if !page.More {
			return posts, cursor
		}
	}
	t.Fatalf("still More after %d pages", maxPages)
	return nil, ""
}
