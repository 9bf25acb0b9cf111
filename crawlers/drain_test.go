package crawlers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aftershock/aftershock/signals"
)

// pager serves n pages, page i holding post "p<i>" and cursor "c<i>".
type pager struct {
	n, polls int
	failAt   int
	cursors  []string
}

func (p *pager) Poll(_ context.Context, cursor string) (Page, error) {
	p.cursors = append(p.cursors, cursor)
	p.polls++
	if p.polls == p.failAt {
		return Page{}, errors.New("boom")
	}
	i := p.polls
	return Page{Posts: []signals.Post{{ID: fmt.Sprint("p", i)}}, Cursor: fmt.Sprint("c", i), More: i < p.n}, nil
}

func TestDrain(t *testing.T) {
	p := &pager{n: 3}
	var emitted, progress int
	cursor, seen, err := Drain(context.Background(), p, "c0", func(Page) error { emitted++; return nil }, func() { progress++ })
	if err != nil || cursor != "c3" || len(seen) != 3 || !seen["p2"] || emitted != 3 || progress != 3 {
		t.Fatalf("cursor %q seen %v emitted %d progress %d err %v", cursor, seen, emitted, progress, err)
	}
	if fmt.Sprint(p.cursors) != "[c0 c1 c2]" {
		t.Fatalf("polled with cursors %v", p.cursors)
	}
	if _, _, err := Drain(context.Background(), &pager{n: 3, failAt: 2}, "", func(Page) error { return nil }, nil); err == nil {
		t.Fatal("poll error not returned")
	}
	stop := errors.New("emit failed")
	if _, _, err := Drain(context.Background(), &pager{n: 3}, "", func(Page) error { return stop }, nil); !errors.Is(err, stop) {
		t.Fatalf("emit error: %v", err)
	}
}
