// Package budget keeps reliability budgets (per team, Google's error
// budget) and karma (per author, Facebook's) in the JetStream KV bucket
// "budgets". Every halted (release, ring) spends once from the release's
// team and from each of its authors; at zero the gate answers "review
// required" until an sre-admin resets the account through the API.
//
// Keys in the bucket:
//
//	team.<name>             an Account (JSON), name escaped as by bus.KeyToken
//	author.<name>           an Account
//	spent.<release>.<ring>  the marker that makes Spend happen once
package budget

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/internal/bus"
)

// Account kinds.
const (
	KindTeam   = "team"
	KindAuthor = "author"
)

// Entry kinds.
const (
	EntryHalt  = "halt"
	EntryReset = "reset"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrInvalid: a kind, name or value that cannot be used.
	ErrInvalid = errors.New("invalid budget request")
	// ErrNotFound: a team that is neither configured nor has an account.
	ErrNotFound = errors.New("no such budget account")
)

// maxCASAttempts bounds the read-modify-write retries of one change.
const maxCASAttempts = 20

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// ValidName reports whether s can name a team or an author: the names
// releases accept (letters, digits, '.', '_', '@', '+', '-', starting with
// a letter or digit, at most 128 bytes).
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidKind reports whether s is "team" or "author".
func ValidKind(s string) bool { return s == KindTeam || s == KindAuthor }

// Account is the budget of one team or the karma of one author.
type Account struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Balance is what is left; at 0 or below the account is exhausted.
	// It may go below 0 when halts keep coming.
	Balance int `json:"balance"`
	// Start is the balance the account started from: the configured value,
	// or the value of the last reset.
	Start int `json:"start"`
	// History holds the most recent changes, oldest first.
	History []Entry `json:"history"`
	// Updated is when the account last changed (zero if never).
	Updated time.Time `json:"updated,omitzero"`
}

// Exhausted reports whether the account has nothing left to spend.
func (a Account) Exhausted() bool { return a.Balance <= 0 }

// Entry is one change of an account.
type Entry struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // halt or reset
	Release string    `json:"release,omitempty"`
	Ring    string    `json:"ring,omitempty"`
	Delta   int       `json:"delta"`
	Balance int       `json:"balance"` // after the change
	Reason  string    `json:"reason"`
}

// Release is what Spend needs to know of a release.
type Release struct {
	ID      string
	Team    string
	Authors []string
}

// Ledger reads and changes accounts in the budgets bucket. Every change is
// a compare-and-set on the account's key, retried on conflict, so several
// processes can share the bucket.
type Ledger struct {
	kv  jetstream.KeyValue
	cfg Config
	log *slog.Logger
	now func() time.Time
	// teams are known besides budgets.teams (services[].team).
	teams []string
}

// WithTeams adds teams that exist besides those under budgets.teams (the
// teams of the configured services). Resetting a team that is in neither
// list and has no account yet is refused with ErrNotFound. It returns l.
func (l *Ledger) WithTeams(teams []string) *Ledger {
	l.teams = append(l.teams, teams...)
	return l
}

// knownTeam reports whether team is configured or already has an account.
func (l *Ledger) knownTeam(ctx context.Context, team string) (bool, error) {
	if _, ok := l.cfg.Teams[team]; ok || slices.Contains(l.teams, team) {
		return true, nil
	}
	_, err := l.kv.Get(ctx, accountKey(KindTeam, team))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading team %s: %w", team, err)
	}
	return true, nil
}

// NewLedger returns a ledger on the "budgets" bucket (bus.KV(ctx,
// bus.BucketBudgets)). cfg is validated (defaults applied); now stamps
// resets.
func NewLedger(kv jetstream.KeyValue, cfg Config, logger *slog.Logger, now func() time.Time) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{kv: kv, cfg: cfg, log: logger, now: now}, nil
}

// accountKey is the key of an account; names are checked non-empty.
func accountKey(kind, name string) string { return kind + "." + bus.KeyToken(name) }

// SpentKey is the key of the marker that Spend creates for a release and ring.
func SpentKey(release, ring string) string { return "spent." + delivery.HaltKey(release, ring) }

func checkAccount(kind, name string) error {
	if !ValidKind(kind) {
		return fmt.Errorf("%w: kind %q, want team or author", ErrInvalid, kind)
	}
	if !ValidName(name) {
		return fmt.Errorf("%w: %s name %q is not valid (letters, digits, '.', '_', '@', '+', '-'; at most 128)", ErrInvalid, kind, name)
	}
	return nil
}

// Get returns an account; one that never changed is returned with its
// configured starting balance and no history.
func (l *Ledger) Get(ctx context.Context, kind, name string) (Account, error) {
	if err := checkAccount(kind, name); err != nil {
		return Account{}, err
	}
	a, _, err := l.get(ctx, kind, name)
	return a, err
}

func (l *Ledger) get(ctx context.Context, kind, name string) (Account, uint64, error) {
	e, err := l.kv.Get(ctx, accountKey(kind, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		start := l.cfg.start(kind, name)
		return Account{Kind: kind, Name: name, Balance: start, Start: start, History: []Entry{}}, 0, nil
	}
	if err != nil {
		return Account{}, 0, fmt.Errorf("reading %s %s: %w", kind, name, err)
	}
	var a Account
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return Account{}, 0, fmt.Errorf("decoding %s %s: %w", kind, name, err)
	}
	if a.History == nil {
		a.History = []Entry{}
	}
	return a, e.Revision(), nil
}

// change applies fn to an account with compare-and-set, retrying on
// conflict. fn reports whether it changed anything; if not, nothing is written.
func (l *Ledger) change(ctx context.Context, kind, name string, fn func(*Account) bool) (Account, error) {
	for range maxCASAttempts {
		a, rev, err := l.get(ctx, kind, name)
		if err != nil {
			return Account{}, err
		}
		if !fn(&a) {
			return a, nil
		}
		if n := len(a.History); n > l.cfg.History {
			a.History = slices.Clone(a.History[n-l.cfg.History:])
		}
		data, err := json.Marshal(a)
		if err != nil {
			return Account{}, fmt.Errorf("encoding %s %s: %w", kind, name, err)
		}
		key := accountKey(kind, name)
		if rev == 0 {
			_, err = l.kv.Create(ctx, key, data)
		} else {
			_, err = l.kv.Update(ctx, key, data, rev)
		}
		switch {
		case err == nil:
			return a, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue // someone else changed it; read again
		default:
			return Account{}, fmt.Errorf("saving %s %s: %w", kind, name, err)
		}
	}
	return Account{}, fmt.Errorf("saving %s %s: still conflicting after %d attempts", kind, name, maxCASAttempts)
}

// spentMarker is the value under SpentKey.
type spentMarker struct {
	Release string    `json:"release"`
	Ring    string    `json:"ring"`
	Time    time.Time `json:"time"`
	Done    bool      `json:"done"`
}

// Spend charges a halted release on a ring: CostPerHalt from the team's
// budget and from each author's karma. It happens once per (release, ring)
// however often it is called (a redelivered halt verdict, two processes):
// the first call creates the spent marker with a KV Create, and each
// account records the spend in its history inside the same compare-and-set
// that changes its balance, so a call that resumes after a crash halfway
// charges only the accounts not yet charged. at is the halt's time (the
// verdict's), kept in the history. Empty team or authors are skipped.
func (l *Ledger) Spend(ctx context.Context, r Release, ring string, at time.Time) error {
	if r.ID == "" || ring == "" {
		return fmt.Errorf("%w: spend needs a release and a ring", ErrInvalid)
	}
	accounts, err := chargedAccounts(r)
	if err != nil {
		return err
	}
	key := SpentKey(r.ID, ring)
	marker := spentMarker{Release: r.ID, Ring: ring, Time: at.UTC()}
	data, _ := json.Marshal(marker)
	if _, err := l.kv.Create(ctx, key, data); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("marking %s on %s spent: %w", r.ID, ring, err)
		}
		e, err := l.kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading spent marker of %s on %s: %w", r.ID, ring, err)
		}
		var old spentMarker
		if json.Unmarshal(e.Value(), &old) == nil && old.Done {
			return nil // already spent
		}
		// A previous call stopped halfway: finish it.
	}
	reason := fmt.Sprintf("release %s halted on %s", r.ID, ring)
	for _, acc := range accounts {
		_, err := l.change(ctx, acc[0], acc[1], func(a *Account) bool {
			for _, e := range a.History {
				if e.Kind == EntryHalt && e.Release == r.ID && e.Ring == ring {
					return false
				}
			}
			a.Balance -= l.cfg.CostPerHalt
			a.Updated = at.UTC()
			a.History = append(a.History, Entry{
				Time: at.UTC(), Kind: EntryHalt, Release: r.ID, Ring: ring,
				Delta: -l.cfg.CostPerHalt, Balance: a.Balance, Reason: reason,
			})
			return true
		})
		if err != nil {
			return fmt.Errorf("spending for %s on %s: %w", r.ID, ring, err)
		}
	}
	marker.Done = true
	data, _ = json.Marshal(marker)
	if _, err := l.kv.Put(ctx, key, data); err != nil {
		// Every account is charged; a retry finds them charged and only
		// marks the spend done.
		return fmt.Errorf("marking %s on %s spent: %w", r.ID, ring, err)
	}
	l.log.Info("budget spent", "release", r.ID, "ring", ring, "team", r.Team, "authors", len(r.Authors), "cost", l.cfg.CostPerHalt)
	return nil
}

// chargedAccounts lists the (kind, name) pairs a release charges, without
// duplicates.
func chargedAccounts(r Release) ([][2]string, error) {
	var out [][2]string
	if r.Team != "" {
		if err := checkAccount(KindTeam, r.Team); err != nil {
			return nil, err
		}
		out = append(out, [2]string{KindTeam, r.Team})
	}
	seen := map[string]bool{}
	for _, a := range r.Authors {
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		if err := checkAccount(KindAuthor, a); err != nil {
			return nil, err
		}
		out = append(out, [2]string{KindAuthor, a})
	}
	return out, nil
}

// Reset sets an account's balance to `to` (0 to MaxBalance) and records who
// did it in its history.
func (l *Ledger) Reset(ctx context.Context, kind, name string, to int, who string) (Account, error) {
	if err := checkAccount(kind, name); err != nil {
		return Account{}, err
	}
	if to < 0 || to > MaxBalance {
		return Account{}, fmt.Errorf("%w: to: %d, want 0 to %d", ErrInvalid, to, MaxBalance)
	}
	if kind == KindTeam {
		known, err := l.knownTeam(ctx, name)
		if err != nil {
			return Account{}, err
		}
		if !known {
			return Account{}, fmt.Errorf("%w: team %q is not under budgets.teams, is no service's team and has no account", ErrNotFound, name)
		}
	}
	if who == "" {
		who = "unknown"
	}
	now := l.now().UTC()
	a, err := l.change(ctx, kind, name, func(a *Account) bool {
		a.History = append(a.History, Entry{
			Time: now, Kind: EntryReset, Delta: to - a.Balance, Balance: to,
			Reason: fmt.Sprintf("reset from %d to %d by %s", a.Balance, to, who),
		})
		a.Balance, a.Start = to, to
		a.Updated = now
		return true
	})
	if err != nil {
		return Account{}, err
	}
	l.log.Info("budget reset", "kind", kind, "name", name, "to", to, "by", who)
	return a, nil
}

// List returns every account that has changed plus the configured teams
// that have not, sorted by kind (authors first) and name.
func (l *Ledger) List(ctx context.Context) ([]Account, error) {
	w, err := l.kv.WatchFiltered(ctx, []string{KindTeam + ".*", KindAuthor + ".*"}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("listing budgets: %w", err)
	}
	byKey := map[string]Account{}
	err = bus.Snapshot(ctx, w, func(e jetstream.KeyValueEntry) {
		var a Account
		if err := json.Unmarshal(e.Value(), &a); err != nil {
			l.log.Warn("skipping undecodable budget account", "key", e.Key(), "err", err)
			return
		}
		if a.History == nil {
			a.History = []Entry{}
		}
		byKey[e.Key()] = a
	})
	if err != nil {
		return nil, fmt.Errorf("listing budgets: %w", err)
	}
	for team, n := range l.cfg.Teams {
		if _, ok := byKey[accountKey(KindTeam, team)]; !ok {
			byKey[accountKey(KindTeam, team)] = Account{Kind: KindTeam, Name: team, Balance: n, Start: n, History: []Entry{}}
		}
	}
	out := make([]Account, 0, len(byKey))
	for _, a := range byKey {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Account) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Exhausted reports whether the team's budget or any author's karma is
// used up, with a reason naming each exhausted account. An empty team and
// empty author names are skipped.
func (l *Ledger) Exhausted(ctx context.Context, team string, authors []string) (bool, string, error) {
	accounts, err := chargedAccounts(Release{Team: team, Authors: authors})
	if err != nil {
		return false, "", err
	}
	var why []string
	for _, acc := range accounts {
		a, _, err := l.get(ctx, acc[0], acc[1])
		if err != nil {
			return false, "", err
		}
		if !a.Exhausted() {
			continue
		}
		what := "reliability budget"
		if a.Kind == KindAuthor {
			what = "karma"
		}
		why = append(why, fmt.Sprintf("%s %s has used up its %s (%d of %d left)", a.Kind, a.Name, what, a.Balance, a.Start))
	}
	if len(why) == 0 {
		return false, "", nil
	}
	return true, strings.Join(why, "; ") + "; an sre-admin must reset it (POST /v1/budgets/{kind}/{name}/reset)", nil
}
