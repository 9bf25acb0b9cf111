package bus

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

func open(t *testing.T, dir string) *Bus {
	t.Helper()
	b, err := Open(context.Background(), Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPostsDedupAndPersist(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	pub := Publisher{JS: b.JS}
	p := signals.Post{Time: time.Now(), Source: "mastodon", ID: "109", Service: "shop", Text: "hello"}
	dup, err := pub.Post(ctx, p)
	if err != nil || dup {
		t.Fatalf("first publish: dup=%v err=%v", dup, err)
	}
	if dup, err = pub.Post(ctx, p); err != nil || !dup {
		t.Fatalf("second publish of the same post: dup=%v err=%v, want a duplicate", dup, err)
	}
	kv, err := b.KV(ctx, BucketCursors)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "feed-a", []byte("cursor-1")); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = open(t, dir) // restart on the same data dir
	defer b.Close()
	s, err := b.JS.Stream(ctx, StreamPosts)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("%d posts stored after restart, want 1", n)
	}
	kv, _ = b.KV(ctx, BucketCursors)
	e, err := kv.Get(ctx, "feed-a")
	if err != nil || string(e.Value()) != "cursor-1" {
		t.Fatalf("cursor after restart: %v %v", e, err)
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	b := open(t, t.TempDir())
	defer b.Close()
	pub := Publisher{JS: b.JS}
	ctx := context.Background()
	tests := []struct {
		name string
		post signals.Post
	}{
		{"no id", signals.Post{Time: time.Now(), Source: "x", Service: "shop"}},
		{"bad source name", signals.Post{Time: time.Now(), Source: "a.b", ID: "1", Service: "shop"}},
		{"invalid utf8", signals.Post{Time: time.Now(), Source: "x", ID: "1", Service: "shop", Text: "\xff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pub.Post(ctx, tc.post); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if err := pub.Metric(ctx, signals.MetricSample{Time: time.Now(), Service: "a b", Name: "e"}); err == nil {
		t.Fatal("metric with a bad service name accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{}
	if err := c.Validate(); err == nil {
		t.Fatal("no data_dir and no url accepted")
	}
	c = Config{URL: "nats://127.0.0.1:4222", Replicas: 9}
	if err := c.Validate(); err == nil {
		t.Fatal("replicas 9 accepted")
	}
	c = Config{DataDir: "/tmp/x"}
	if err := c.Validate(); err != nil || c.Retention == 0 || c.Replicas != 1 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}
