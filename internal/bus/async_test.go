package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// TestBatchOrderAndDuplicates: outcomes come back in publish order with at
// most the bound in flight, repeats are reported as duplicates, notes run
// in their place, and the stream holds each post once.
func TestBatchOrderAndDuplicates(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	a, err := NewAsync(b.JS, 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	batch := a.Batch()
	var got []string
	for i := range 60 {
		id := strconv.Itoa(i % 50) // the last 10 repeat the first 10
		p := signals.Post{Time: time.Now(), Source: "feed", ID: id, Service: "shop", Text: "post " + id}
		if err := batch.Post(ctx, p, func(dup bool, err error) error {
			if err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%s:%v", id, dup))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n := batch.InFlight(); n > 4 {
			t.Fatalf("%d in flight, bound 4", n)
		}
		if i == 29 {
			if err := batch.Then(ctx, func() { got = append(got, "note") }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := batch.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 60 {
		want = append(want, fmt.Sprintf("%d:%v", i%50, i >= 50))
		if i == 29 {
			want = append(want, "note")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes\n got %v\nwant %v", got, want)
	}
	s, err := b.JS.Stream(ctx, StreamPosts)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 50 {
		t.Errorf("stream holds %d posts, want 50", n)
	}
	// A settled batch runs a note at once.
	ran := false
	if err := batch.Then(ctx, func() { ran = true }); err != nil || !ran {
		t.Errorf("note on an idle batch: ran %v, err %v", ran, err)
	}
}

func TestBatchRefusesInvalid(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	a, err := NewAsync(b.JS, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	batch := a.Batch()
	for name, err := range map[string]error{
		"post without id":    batch.Post(ctx, signals.Post{Time: time.Now(), Source: "feed", Service: "shop"}, nil),
		"post bad source":    batch.Post(ctx, signals.Post{Time: time.Now(), Source: "a.b", ID: "1", Service: "shop"}, nil),
		"metric no name":     batch.Metric(ctx, signals.MetricSample{Time: time.Now(), Service: "shop"}, nil),
		"release bad event":  batch.Release(ctx, signals.ReleaseEvent{Time: time.Now(), Release: "r", Service: "shop", Event: "nope"}, "", nil),
		"metric bad service": batch.Metric(ctx, signals.MetricSample{Time: time.Now(), Service: "a b", Name: "x"}, nil),
	} {
		if !errors.Is(err, signals.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// Refusals do not fail the batch.
	if err := batch.Post(ctx, signals.Post{Time: time.Now(), Source: "feed", ID: "1", Service: "shop"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := batch.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBatchFailsWhenBrokerGone: acks that cannot come fail the batch, and
// it stays failed.
func TestBatchFailsWhenBrokerGone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := open(t, t.TempDir())
	a, err := NewAsync(b.JS, 8, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	batch := a.Batch()
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
	var failed int
	for i := range 20 {
		err := batch.Post(ctx, signals.Post{Time: time.Now(), Source: "feed", ID: strconv.Itoa(i), Service: "shop"}, func(_ bool, err error) error {
			if err != nil {
				failed++
			}
			return err
		})
		if err != nil {
			break
		}
	}
	err = batch.Wait(ctx)
	if err == nil {
		t.Fatal("Wait: nil error with the broker gone")
	}
	if ctx.Err() != nil {
		t.Fatalf("Wait did not fail by itself: %v", err)
	}
	if failed > 1 {
		t.Errorf("%d failures handed to done, want at most 1 (the batch stops at the first)", failed)
	}
	if err2 := batch.Post(ctx, signals.Post{Time: time.Now(), Source: "feed", ID: "x", Service: "shop"}, nil); err2 == nil {
		t.Error("a failed batch accepted another post")
	}
	b.NC.Close()
	b.srv = nil
	b.Close()
}

// TestBatchPostJSON: a post already in wire form is checked like Post and
// published byte for byte, with its msg id.
func TestBatchPostJSON(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	a, err := NewAsync(b.JS, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	batch := a.Batch()
	data := []byte(`{"type":"post","time":"2026-11-24T09:30:00Z","source":"feed","id":"7","service":"shop","text":"hi","mood":"grumpy"}`)
	v, err := signals.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p := *v.(*signals.Post)
	for range 2 {
		if err := batch.PostJSON(ctx, p, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	bad := p
	bad.Service = ""
	if err := batch.PostJSON(ctx, bad, data, nil); !errors.Is(err, signals.ErrInvalid) {
		t.Errorf("invalid post: %v, want ErrInvalid", err)
	}
	if err := batch.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := b.JS.Stream(ctx, StreamPosts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != string(data) || m.Header.Get("Nats-Msg-Id") != "feed:7" {
		t.Errorf("stored %s with msg id %q", m.Data, m.Header.Get("Nats-Msg-Id"))
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("stream holds %d posts, want 1 (the repeat dropped)", n)
	}
}

// BenchmarkBatchPost: one post published asynchronously (broker in
// process, ack awaited in batches), with -benchmem for allocations.
func BenchmarkBatchPost(b *testing.B) {
	ctx := context.Background()
	bs, err := Open(ctx, Config{DataDir: b.TempDir(), Retention: time.Hour, Replicas: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	a, err := NewAsync(bs.JS, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	batch := a.Batch()
	p := signals.Post{Time: time.Now(), Source: "feed", Service: "shop", Text: "can't log in since the update", Lang: "en"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p.ID = strconv.Itoa(i)
		if err := batch.Post(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Wait(ctx); err != nil {
		b.Fatal(err)
	}
}
