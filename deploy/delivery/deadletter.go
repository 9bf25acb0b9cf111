package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/internal/bus"
)

// ErrNotFound: no dead letter with that id.
var ErrNotFound = errors.New("no such failed delivery")

// DeadLetter is a notice given up on: the receiver refused it for good
// (a 4xx) or its deadline passed. It is kept in the "deadletters" bucket
// until re-sent, so a refused halt is never lost silently.
type DeadLetter struct {
	// ID is "<notifier>:<notice key>", e.g. "deploy:halt:shop-4.2.0:H2".
	ID       string `json:"id"`
	Notifier string `json:"notifier"`
	// Reason is rejected or deadline.
	Reason   string        `json:"reason"`
	Error    string        `json:"error"`
	Attempts int           `json:"attempts"`
	Failed   time.Time     `json:"failed"`
	Notice   deploy.Notice `json:"notice"`
}

// DeadLetterID is the id of the dead letter of notice key for a notifier.
func DeadLetterID(kind, key string) string { return kind + ":" + key }

// deadKey is the bucket key of a dead letter: the notifier, a dot, the
// escaped notice key.
func deadKey(kind, key string) string { return kind + "." + bus.KeyToken(key) }

// DeadLetters reads, keeps and re-sends failed deliveries.
type DeadLetters struct {
	kv  jetstream.KeyValue
	js  jetstream.JetStream
	now func() time.Time
}

// OpenDeadLetters opens the dead-letter bucket (declared by bus.Open);
// now stamps re-sent notices.
func OpenDeadLetters(ctx context.Context, js jetstream.JetStream, now func() time.Time) (*DeadLetters, error) {
	kv, err := js.KeyValue(ctx, bus.BucketDeadLetters)
	if err != nil {
		return nil, fmt.Errorf("opening kv bucket %s: %w", bus.BucketDeadLetters, err)
	}
	if now == nil {
		now = time.Now
	}
	return &DeadLetters{kv: kv, js: js, now: now}, nil
}

func (d *DeadLetters) put(ctx context.Context, dl DeadLetter) error {
	data, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encoding dead letter %s: %w", dl.ID, err)
	}
	if _, err := d.kv.Put(ctx, deadKey(dl.Notifier, dl.Notice.Key), data); err != nil {
		return fmt.Errorf("keeping dead letter %s: %w", dl.ID, err)
	}
	return nil
}

// List returns every dead letter, oldest failure first.
func (d *DeadLetters) List(ctx context.Context) ([]DeadLetter, error) {
	w, err := d.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	out := []DeadLetter{}
	err = bus.Snapshot(ctx, w, func(e jetstream.KeyValueEntry) {
		var dl DeadLetter
		if json.Unmarshal(e.Value(), &dl) == nil {
			out = append(out, dl)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	slices.SortFunc(out, func(a, b DeadLetter) int {
		if c := a.Failed.Compare(b.Failed); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Count is the number of dead letters of one notifier.
func (d *DeadLetters) Count(ctx context.Context, kind string) (int, error) {
	l, err := d.kv.ListKeysFiltered(ctx, kind+".*")
	if err != nil {
		return 0, fmt.Errorf("counting dead letters of %s: %w", kind, err)
	}
	defer func() { _ = l.Stop() }()
	n := 0
	for range l.Keys() {
		n++
	}
	return n, nil
}

// Get returns the dead letter with that id, or an error wrapping ErrNotFound.
func (d *DeadLetters) Get(ctx context.Context, id string) (DeadLetter, error) {
	kind, key, ok := strings.Cut(id, ":")
	if !ok || !bus.ValidToken(kind) || key == "" {
		return DeadLetter{}, fmt.Errorf("%w: %q (ids look like deploy:halt:shop-4.2.0:H2)", ErrNotFound, id)
	}
	e, err := d.kv.Get(ctx, deadKey(kind, key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return DeadLetter{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("reading dead letter %s: %w", id, err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(e.Value(), &dl); err != nil {
		return DeadLetter{}, fmt.Errorf("decoding dead letter %s: %w", id, err)
	}
	return dl, nil
}

// Resend queues the dead letter's notice again for its notifier, with the
// same key (so the same webhook-id) and a fresh deadline, and forgets the
// dead letter (should the notice fail again, a new one is kept). It
// returns the notice as queued.
func (d *DeadLetters) Resend(ctx context.Context, id string) (deploy.Notice, error) {
	dl, err := d.Get(ctx, id)
	if err != nil {
		return deploy.Notice{}, err
	}
	key := deadKey(dl.Notifier, dl.Notice.Key)
	e, err := d.kv.Get(ctx, key)
	if err != nil {
		return deploy.Notice{}, fmt.Errorf("reading dead letter %s: %w", id, err)
	}
	// Forget first (only this revision: a concurrent resend gets an error),
	// so a quick new failure of the re-sent notice is not deleted after it.
	if err := d.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return deploy.Notice{}, fmt.Errorf("re-sending %s: %w", id, err)
	}
	n := dl.Notice
	n.Resend++
	n.Created = d.now()
	if err := Enqueue(ctx, d.js, dl.Notifier, n); err != nil {
		if perr := d.put(context.WithoutCancel(ctx), dl); perr != nil {
			err = errors.Join(err, perr)
		}
		return deploy.Notice{}, fmt.Errorf("re-sending %s: %w", id, err)
	}
	return n, nil
}
