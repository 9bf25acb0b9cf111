package storephase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aftershock/aftershock/deploy"
)

type fakeReader struct {
	service string
	share   float64
	err     error
	reads   int
}

func (f *fakeReader) Exposure(_ context.Context, r deploy.Release) (float64, string, bool, error) {
	if r.Service != f.service {
		return 0, "", false, nil
	}
	f.reads++
	return f.share, fmt.Sprintf("day of %s", r.ID), true, f.err
}

func TestPollReportsChanges(t *testing.T) {
	ios := &fakeReader{service: "shop-ios", share: 0.02}
	android := &fakeReader{service: "shop-android", share: 0.05}
	watched := []Watched{
		{Release: deploy.Release{ID: "shop-ios-4.2.0", Service: "shop-ios", Version: "4.2.0", Ring: "H3"}, Exposure: 0.01},
		{Release: deploy.Release{ID: "shop-android-4.2.0", Service: "shop-android", Version: "4.2.0", Ring: "H3"}, Exposure: 0.05},
		{Release: deploy.Release{ID: "web-1", Service: "web", Version: "1", Ring: "H2"}},
		{Release: deploy.Release{ID: "shop-ios-4.3.0", Service: "shop-ios", Version: "4.3.0"}}, // pending: no ring
	}
	var reported []string
	p := &Poller{
		Watched: func(context.Context) ([]Watched, error) { return watched, nil },
		Readers: map[string]deploy.PhaseReader{"ios-store": ios, "android-store": android},
		Report: func(_ context.Context, r deploy.Release, share float64, detail string) error {
			if r.ID == "fail-1" {
				return errors.New("registry down")
			}
			reported = append(reported, fmt.Sprintf("%s/%s=%g (%s)", r.ID, r.Ring, share, detail))
			return nil
		},
		Log: slog.New(slog.DiscardHandler),
	}
	if n := p.Poll(context.Background()); n != 1 || fmt.Sprint(reported) != "[shop-ios-4.2.0/H3=0.02 (day of shop-ios-4.2.0)]" {
		t.Fatalf("Poll = %d, reported %v; want only the iOS change", n, reported)
	}
	if ios.reads != 1 || android.reads != 1 {
		t.Errorf("reads ios %d android %d, want 1 each (no ring, no read)", ios.reads, android.reads)
	}
	// A failed read, a share of 0 (not live yet) and a failed report
	// report nothing.
	reported = nil
	android.share = 0
	watched = append(watched, Watched{Release: deploy.Release{ID: "fail-1", Service: "shop-ios", Ring: "H3"}})
	ios.err = nil
	ios.share = 0.01
	if n := p.Poll(context.Background()); n != 0 || reported != nil {
		t.Errorf("Poll = %d, reported %v; want nothing", n, reported)
	}
	ios.err = errors.New("401 NOT_AUTHORIZED")
	if n := p.Poll(context.Background()); n != 0 {
		t.Errorf("Poll with a failing store = %d", n)
	}
	p.Watched = func(context.Context) ([]Watched, error) { return nil, errors.New("kv down") }
	if n := p.Poll(context.Background()); n != 0 {
		t.Errorf("Poll without a list = %d", n)
	}
}
