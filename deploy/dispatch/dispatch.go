// Package dispatch turns verdicts into notices: it reads the VERDICTS
// stream with a durable consumer and, for a verdict that halts a ring,
// claims the (release, ring) once and queues one notice per notifier on the
// durable delivery outbox. A verdict is acked only after its notices are queued.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Durable is the consumer name on the VERDICTS stream.
const Durable = "deploy-dispatch"

// Events a notifier can subscribe to, derived from a verdict.
const (
	EventHalt    = "halt"     // action halt
	EventFlagOff = "flag_off" // action flag_off
	EventReview  = "review"   // action review_required (marginal)
	EventFail    = "fail"     // failing, not yet acted on
	EventPass    = "pass"
	EventWait    = "wait" // a watch started and waits for evidence
	// EventDeliveryFailed: a notice to another notifier was given up on and
	// kept as a dead letter (chat hears of it by default).
	EventDeliveryFailed = "delivery_failed"
)

// Events lists every event name.
var Events = []string{EventHalt, EventFlagOff, EventReview, EventFail, EventPass, EventWait, EventDeliveryFailed}

// EventOf names what a verdict means for notifiers.
func EventOf(v signals.Verdict) string {
	switch {
	case v.Action == signals.ActionHalt:
		return EventHalt
	case v.Action == signals.ActionFlagOff:
		return EventFlagOff
	case v.Action == signals.ActionReviewRequired:
		return EventReview
	case v.Decision == signals.DecisionFail || v.Decision == signals.DecisionMarginal:
		return EventFail
	case v.Decision == signals.DecisionPass:
		return EventPass
	}
	return EventWait
}

// Target is one notifier and the events it wants.
type Target struct {
	Name string
	On   []string
}

func (t Target) wants(event string) bool {
	for _, e := range t.On {
		if e == event {
			return true
		}
	}
	return false
}

// Dispatcher queues notices for verdicts.
type Dispatcher struct {
	js        jetstream.JetStream
	halts     jetstream.KeyValue
	notifiers []Target
	dashboard string
	now       func() time.Time
	log       *slog.Logger
}

// New returns a dispatcher. dashboard is a link template where "{release}"
// and "{service}" are replaced ("" for none).
func New(js jetstream.JetStream, halts jetstream.KeyValue, notifiers []Target, dashboard string, now func() time.Time, log *slog.Logger) *Dispatcher {
	return &Dispatcher{js: js, halts: halts, notifiers: notifiers, dashboard: dashboard, now: now, log: log}
}

// Run consumes verdicts with the durable consumer Durable until ctx ends,
// then returns nil. A consumer that cannot be created at the start is an
// error; one that breaks later is recreated. Run also returns an error when
// the connection is closed.
func (d *Dispatcher) Run(ctx context.Context) error {
	err := bus.Durable{
		JS:       d.js,
		Stream:   bus.StreamVerdicts,
		Config:   bus.DurableConfig(Durable, ""),
		Handle:   d.handle,
		Log:      d.log,
		What:     "verdict",
		Backoff:  func(int) time.Duration { return time.Second },
		FailFast: true,
	}.Run(ctx)
	if err != nil {
		return fmt.Errorf("reading verdicts: %w", err)
	}
	return nil
}

func (d *Dispatcher) handle(ctx context.Context, m jetstream.Msg) {
	v, err := signals.Decode(m.Data())
	verdict, ok := v.(*signals.Verdict)
	if err != nil || !ok {
		d.log.Warn("dropping bad verdict message", "err", err)
		_ = m.Term()
		return
	}
	if err := d.Handle(ctx, *verdict); err != nil {
		d.log.Error("queueing notices", "release", verdict.Release, "ring", verdict.Ring, "err", err)
		_ = m.NakWithDelay(2 * time.Second)
		return
	}
	_ = m.Ack()
}

// Handle queues the notices a verdict calls for. A halt (or a flag switch)
// is queued at most once per release and ring, however often the verdict is
// redelivered or re-computed; other notices carry a key made from the
// verdict, so a redelivery is dropped by the outbox. After Rearm (a person
// resumed the ring) the next halt of that ring goes out once more.
func (d *Dispatcher) Handle(ctx context.Context, v signals.Verdict) error {
	event := EventOf(v)
	var targets []string
	for _, t := range d.notifiers {
		if t.wants(event) {
			targets = append(targets, t.Name)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	key := delivery.HaltKey(v.Release, v.Ring)
	switch event {
	case EventHalt, EventFlagOff:
		if event == EventFlagOff {
			// A flag switch is its own action, once per feature; a later
			// halt of the same ring must still go out.
			key = delivery.HaltKey(v.Release, v.Ring+"/flag_off/"+v.Feature)
		}
		// After a person resumed the ring (Rearm), its halts are claimed
		// anew; verdicts from before the resume stay claimed.
		rearmed, _, err := generation(ctx, d.halts, v.Release, v.Ring)
		if err != nil {
			return err
		}
		if rearmed.Generation > 0 && v.Time.Before(rearmed.Resumed) {
			d.log.Info("dropped: computed before the ring was resumed", "event", event, "release", v.Release, "ring", v.Ring,
				"verdict_time", v.Time, "resumed", rearmed.Resumed)
			return nil
		}
		key = claimKey(key, rearmed.Generation)
		notice := generationKey(NoticeKey(event, v.Release, v.Ring, v.Feature), rearmed.Generation)
		var first bool
		first, key, notice, err = claimVersion(ctx, d.halts, key, notice, v.Version)
		if err != nil {
			return err
		}
		if !first {
			d.log.Info("already sent", "event", event, "release", v.Release, "ring", v.Ring, "version", v.Version)
			return nil
		}
		if err := d.enqueue(ctx, targets, notice, v); err != nil {
			// Release the claim so the redelivered verdict queues again;
			// notices already queued are dropped as duplicates by their msg id.
			if ferr := delivery.Forget(ctx, d.halts, key); ferr != nil {
				d.log.Error("releasing claim", "key", key, "err", ferr)
			}
			return err
		}
		d.log.Info("queued", "event", event, "release", v.Release, "ring", v.Ring, "score", v.Score, "notifiers", len(targets))
		return nil
	default:
		return d.enqueue(ctx, targets, fmt.Sprintf("%s:%d", NoticeKey(event, v.Release, v.Ring, ""), v.Time.UnixNano()), v)
	}
}

// claimVersion claims key for a halt (or flag switch) of version, keeping
// the version as the claim's value. A release id reused for another
// version (detector/reusedwatch.go) is a new rollout under the same id:
// when key is held by another version's claim, the halt claims its own
// key, key.v.<version>, and its notice key ends ":version-<version>" (a new
// webhook-id and Nats-Msg-Id), so the new version's halt goes out once
// instead of being dropped as the old version's, already sent. A claim
// made before claims kept their version ("1"), or a verdict naming none,
// counts as the same version. It returns the key and notice key used.
func claimVersion(ctx context.Context, halts jetstream.KeyValue, key, notice, version string) (first bool, claimed, noticeKey string, err error) {
	value := "1"
	if version != "" {
		value = versionClaim + version
	}
	if _, err := halts.Create(ctx, key, []byte(value)); err == nil {
		return true, key, notice, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, key, notice, fmt.Errorf("claiming halt %s: %w", key, err)
	}
	e, err := halts.Get(ctx, key)
	if err != nil {
		return false, key, notice, fmt.Errorf("reading halt claim %s: %w", key, err)
	}
	was, ok := strings.CutPrefix(string(e.Value()), versionClaim)
	if version == "" || !ok || was == version {
		return false, key, notice, nil
	}
	key, notice = key+".v."+bus.KeyToken(version), notice+":version-"+version
	first, err = delivery.Once(ctx, halts, key)
	return first, key, notice, err
}

// versionClaim prefixes the version kept as a halt claim's value.
const versionClaim = "version:"

// NoticeKey is the readable, stable idempotency key of a notice, sent as
// webhook-id and Idempotency-Key: "halt:shop-4.2.0:H2", and for a feature
// switch "flag_off:shop-4.2.0:H2:checkout". Release ids and ring names
// hold no ':' (they are validated), so the parts never run together. Other
// events add the verdict's Unix nanoseconds ("pass:shop-4.2.0:H2:<ns>").
// The halts bucket keeps its own escaped key (HaltKey); this one is only
// sent.
func NoticeKey(event, release, ring, feature string) string {
	k := event + ":" + release + ":" + ring
	if event == EventFlagOff {
		k += ":" + feature
	}
	return k
}

// DeadLetter tells the notifiers that want EventDeliveryFailed (chat, by
// default) that a notice to another notifier failed for good, with the
// command that re-sends it. It is a delivery.Worker's OnDeadLetter. A
// failed delivery_failed notice is not announced again (no loops).
func (d *Dispatcher) DeadLetter(ctx context.Context, dl delivery.DeadLetter) {
	if strings.HasPrefix(dl.Notice.Key, EventDeliveryFailed+":") {
		return
	}
	var targets []string
	for _, t := range d.notifiers {
		if t.Name != dl.Notifier && t.wants(EventDeliveryFailed) {
			targets = append(targets, t.Name)
		}
	}
	if len(targets) == 0 {
		return
	}
	v := dl.Notice.Verdict
	v.Reasons = append([]string{fmt.Sprintf("DELIVERY FAILED: %s to notifier %s given up (%s: %s); re-send with: aftershock deliveries resend %s",
		EventOf(v), dl.Notifier, dl.Reason, dl.Error, dl.ID)}, v.Reasons...)
	n := deploy.Notice{
		Key:     fmt.Sprintf("%s:%s:%d", EventDeliveryFailed, dl.ID, dl.Notice.Resend),
		Verdict: v, Dashboard: dl.Notice.Dashboard, Created: d.now(),
	}
	for _, name := range targets {
		if err := delivery.Enqueue(ctx, d.js, name, n); err != nil {
			d.log.Error("announcing a failed delivery", "id", dl.ID, "notifier", name, "err", err)
		}
	}
}

func (d *Dispatcher) enqueue(ctx context.Context, targets []string, key string, v signals.Verdict) error {
	n := deploy.Notice{Key: key, Verdict: v, Dashboard: d.link(v), Created: d.now()}
	for _, name := range targets {
		if err := delivery.Enqueue(ctx, d.js, name, n); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) link(v signals.Verdict) string {
	if d.dashboard == "" {
		return ""
	}
	r := strings.NewReplacer("{release}", v.Release, "{service}", v.Service, "{ring}", v.Ring)
	return r.Replace(d.dashboard)
}
