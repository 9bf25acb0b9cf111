package budget

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newLedger(t *testing.T, b *bus.Bus, cfg Config) *Ledger {
	t.Helper()
	kv, err := b.KV(context.Background(), bus.BucketBudgets)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLedger(kv, cfg, quiet(), func() time.Time { return t0.Add(time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConfig(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the error; nil for none
	}{
		{"good.yml", nil},
		{"bad.yml", []string{
			"budgets.teams.storefront: -1, want 0 to 1000000",
			`budgets.teams: "bad team" is not a valid team name`,
			"budgets.default_team_budget: -2",
			"budgets.authors_karma: -5",
			"budgets.cost_per_halt: -1",
			"budgets.history: 5000, want 1 to 1000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var c Config
			if err := yaml.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if c.DefaultTeamBudget != 3 || c.AuthorsKarma != 4 || c.CostPerHalt != 1 || c.History != 50 {
					t.Fatalf("defaults not applied: %+v", c)
				}
				if c.start(KindTeam, "payments") != 0 || c.start(KindTeam, "other") != 3 || c.start(KindAuthor, "x") != 4 {
					t.Fatal("starting balances wrong")
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSpendOncePerReleaseAndRing(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	l := newLedger(t, b, Config{Teams: map[string]int{"storefront": 3}})
	rel := Release{ID: "shop-4.2.0", Team: "storefront", Authors: []string{"alice", "bob@example.com", "alice"}}

	// The same halt three times (redeliveries), once concurrently.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Spend(ctx, rel, "H2", t0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := l.Spend(ctx, rel, "H2", t0); err != nil {
		t.Fatal(err)
	}
	// Another ring of the same release spends again.
	if err := l.Spend(ctx, rel, "H3", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, name string
		balance    int
		entries    int
	}{
		{KindTeam, "storefront", 1, 2},
		{KindAuthor, "alice", 3, 2},
		{KindAuthor, "bob@example.com", 3, 2},
		{KindAuthor, "carol", 5, 0},
		{KindTeam, "search", 3, 0},
	}
	for _, tt := range tests {
		a, err := l.Get(ctx, tt.kind, tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance != tt.balance || len(a.History) != tt.entries {
			t.Errorf("%s %s: balance %d with %d entries, want %d with %d", tt.kind, tt.name, a.Balance, len(a.History), tt.balance, tt.entries)
		}
	}
	a, _ := l.Get(ctx, KindTeam, "storefront")
	want := Entry{Time: t0, Kind: EntryHalt, Release: "shop-4.2.0", Ring: "H2", Delta: -1, Balance: 2, Reason: "release shop-4.2.0 halted on H2"}
	if a.History[0] != want {
		t.Fatalf("history[0] = %+v, want %+v", a.History[0], want)
	}
}

// A spend that stopped after charging some accounts (marker created, not
// done) is finished by the next call without charging anyone twice.
func TestSpendResumesHalfDoneSpend(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	l := newLedger(t, b, Config{})
	rel := Release{ID: "shop-4.2.0", Team: "storefront", Authors: []string{"alice"}}
	if err := l.Spend(ctx, rel, "H2", t0); err != nil {
		t.Fatal(err)
	}
	// Pretend the process died before marking the spend done.
	data, _ := json.Marshal(spentMarker{Release: rel.ID, Ring: "H2", Time: t0})
	if _, err := l.kv.Put(ctx, SpentKey(rel.ID, "H2"), data); err != nil {
		t.Fatal(err)
	}
	rel.Authors = append(rel.Authors, "bob") // charged only now
	if err := l.Spend(ctx, rel, "H2", t0); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"alice": 4, "bob": 4} {
		a, _ := l.Get(ctx, KindAuthor, name)
		if a.Balance != want {
			t.Errorf("%s: %d, want %d", name, a.Balance, want)
		}
	}
	if a, _ := l.Get(ctx, KindTeam, "storefront"); a.Balance != 2 {
		t.Errorf("team balance %d, want 2", a.Balance)
	}
}

func TestExhaustedAndReset(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	l := newLedger(t, b, Config{Teams: map[string]int{"storefront": 2}, AuthorsKarma: 9, History: 3})
	for i, ring := range []string{"H1", "H2", "H3"} {
		rel := Release{ID: "shop-4." + string(rune('0'+i)), Team: "storefront", Authors: []string{"alice"}}
		if err := l.Spend(ctx, rel, ring, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		team    string
		authors []string
		want    bool
		reason  string
	}{
		{"team used up", "storefront", []string{"alice"}, true, "team storefront has used up its reliability budget (-1 of 2 left)"},
		{"other team", "search", []string{"alice"}, false, ""},
		{"no team, no authors", "", nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := l.Exhausted(ctx, tt.team, tt.authors)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !strings.Contains(reason, tt.reason) {
				t.Fatalf("Exhausted = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
	a, err := l.Reset(ctx, KindTeam, "storefront", 2, "sre-oncall")
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != 2 || len(a.History) != 3 {
		t.Fatalf("after reset: %+v", a)
	}
	last := a.History[len(a.History)-1]
	if last.Kind != EntryReset || last.Delta != 3 || last.Reason != "reset from -1 to 2 by sre-oncall" || !last.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("reset entry %+v", last)
	}
	// History is bounded: the oldest halt entry was dropped.
	if a.History[0].Ring != "H2" {
		t.Fatalf("history not trimmed oldest first: %+v", a.History)
	}
	if got, _, _ := l.Exhausted(ctx, "storefront", nil); got {
		t.Fatal("still exhausted after reset")
	}
	// Exhausted author karma alone is enough.
	if _, err := l.Reset(ctx, KindAuthor, "alice", 0, "x"); err != nil {
		t.Fatal(err)
	}
	if got, reason, _ := l.Exhausted(ctx, "storefront", []string{"bob", "alice"}); !got || !strings.Contains(reason, "author alice has used up its karma (0 of 0 left)") {
		t.Fatalf("author exhaustion: %v %q", got, reason)
	}
	if _, err := l.Reset(ctx, "group", "x", 1, "x"); err == nil {
		t.Fatal("reset of an unknown kind accepted")
	}
	if _, err := l.Reset(ctx, KindTeam, "storefront", -1, "x"); err == nil {
		t.Fatal("negative reset accepted")
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	l := newLedger(t, b, Config{Teams: map[string]int{"storefront": 3, "payments": 1}})
	if err := l.Spend(ctx, Release{ID: "pay-1", Team: "payments", Authors: []string{"dan.o+ops@x"}}, "H2", t0); err != nil {
		t.Fatal(err)
	}
	got, err := l.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got {
		names = append(names, a.Kind+":"+a.Name)
	}
	if strings.Join(names, ",") != "author:dan.o+ops@x,team:payments,team:storefront" {
		t.Fatalf("listed %v", names)
	}
	if got[1].Balance != 0 || !got[1].Exhausted() || len(got[1].History) != 1 || got[2].Balance != 3 {
		t.Fatalf("accounts %+v", got)
	}
}

func TestSpenderConsumesHaltVerdicts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := openBus(t)
	l := newLedger(t, b, Config{})
	lookups := 0
	lookup := func(_ context.Context, release string) (string, []string, error) {
		lookups++
		return "looked-up", []string{"erin"}, nil
	}
	s := NewSpender(b.JS, l, lookup, quiet())
	pub := bus.Publisher{JS: b.JS}
	halt := signals.Verdict{Time: t0, Release: "shop-4.2.0", Service: "shop", Ring: "H2", Score: 31, Decision: signals.DecisionFail, Action: signals.ActionHalt, Team: "storefront", Authors: []string{"alice"}}
	pass := halt
	pass.Decision, pass.Action = signals.DecisionPass, signals.ActionNone
	bare := halt
	bare.Release, bare.Team, bare.Authors = "shop-4.3.0", "", nil
	// The halt published three times stands for redeliveries and re-judgements.
	for _, v := range []signals.Verdict{pass, halt, halt, bare, halt} {
		if err := pub.Verdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.JS.Publish(ctx, bus.VerdictSubject("shop"), []byte(`{"type":"verdict"`)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool {
		c, err := b.JS.Consumer(ctx, bus.StreamVerdicts, SpenderDurable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream == 6
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, name string
		balance    int
	}{
		{KindTeam, "storefront", 2},
		{KindAuthor, "alice", 4},
		{KindTeam, "looked-up", 2},
		{KindAuthor, "erin", 4},
	}
	for _, tt := range tests {
		a, err := l.Get(context.Background(), tt.kind, tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance != tt.balance {
			t.Errorf("%s %s: %d, want %d", tt.kind, tt.name, a.Balance, tt.balance)
		}
	}
	if lookups != 1 {
		t.Errorf("%d lookups, want 1", lookups)
	}
}

// The spender recreates its consumer when it is deleted under it.
func TestSpenderRecreatesConsumer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := openBus(t)
	l := newLedger(t, b, Config{})
	s := NewSpender(b.JS, l, nil, quiet())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool {
		_, err := b.JS.Consumer(ctx, bus.StreamVerdicts, SpenderDurable)
		return err == nil
	})
	if err := b.JS.DeleteConsumer(ctx, bus.StreamVerdicts, SpenderDurable); err != nil {
		t.Fatal(err)
	}
	v := signals.Verdict{Time: t0, Release: "r1", Service: "shop", Ring: "H2", Decision: "fail", Action: "halt", Team: "storefront"}
	if err := (bus.Publisher{JS: b.JS}).Verdict(ctx, v); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := l.Get(ctx, KindTeam, "storefront")
		return err == nil && a.Balance == 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistryLookup(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	kv, err := b.KV(ctx, bus.BucketReleases)
	if err != nil {
		t.Fatal(err)
	}
	store := releases.NewStore(kv, quiet(), func() time.Time { return t0 })
	if _, _, err := store.Create(ctx, releases.StartRequest{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Team: "storefront", Authors: []string{"alice"}}, t0); err != nil {
		t.Fatal(err)
	}
	lookup := RegistryLookup(store)
	team, authors, err := lookup(ctx, "shop-4.2.0")
	if err != nil || team != "storefront" || len(authors) != 1 || authors[0] != "alice" {
		t.Fatalf("lookup = %q %v %v", team, authors, err)
	}
	team, authors, err = lookup(ctx, "unknown-1")
	if err != nil || team != "" || authors != nil {
		t.Fatalf("unknown release: %q %v %v", team, authors, err)
	}
}
