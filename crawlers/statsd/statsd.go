// Package statsd is a UDP listener for the StatsD and DogStatsD line
// protocols: applications send their error counts, error ratios and
// latencies, tagged with service, version and ring, and the listener
// publishes them as metric samples to the METRICS stream.
//
// A datagram holds one or more newline-separated lines
// `name:value[:value...]|type[|@rate][|#k:v,k2:v2]`:
//
//   - gauges (g) are published as they arrive, one sample per line ("+n"
//     and "-n" change the last value of that gauge);
//   - timers and histograms (ms, h, and DogStatsD d) are published as they
//     arrive, one sample per value;
//   - counters (c) are summed per flush interval, each increment divided by
//     its sample rate, and published at the end of the interval as a
//     per-second rate. A counter that saw no increment in an interval is
//     published as 0 while it was seen within CounterTTL, so a quiet error
//     counter reads as "no errors", not as "no data";
//   - ratios (configured) divide the rates of two counters of the same
//     service, version and ring at each flush, e.g. errors / requests, the
//     figure that compares a 1% canary with the 99%;
//   - counts (configured) publish a counter's sum over the interval as a
//     count, the form the detector's error-count charts read (errors among
//     requests of each cohort).
//
// Service, version and ring come from DogStatsD tags; a line without the
// service tag is dropped and counted. Other tags are ignored (their series
// are summed). Sets, events and service checks are counted and ignored.
// Bad lines and oversized datagrams are counted, never fatal.
package statsd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/sparselog"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Defaults of Config.
const (
	DefaultListen        = "127.0.0.1:8125"
	DefaultServiceTag    = "service"
	DefaultVersionTag    = "version"
	DefaultRingTag       = "ring"
	DefaultFlushInterval = 10 * time.Second
	// DefaultMaxDatagram is DogStatsD's default buffer; a datagram larger
	// than MaxDatagram is dropped whole.
	DefaultMaxDatagram = 8192
	DefaultMaxKeys     = 10000
	DefaultCounterTTL  = 5 * time.Minute
	// MaxUDPPayload is the largest possible UDP payload.
	MaxUDPPayload = 65507
)

// Config is the `statsd` section of the configuration.
//
//	statsd:
//	  listen: 127.0.0.1:8125
//	  flush_interval: 10s
//	  ratios:
//	    - {name: error_rate, numerator: http.errors, denominator: http.requests}
//	  counts:
//	    - {name: errors, counter: http.errors}
//	    - {name: requests, counter: http.requests}
type Config struct {
	// Listen is the UDP host:port to listen on (default 127.0.0.1:8125).
	Listen string `yaml:"listen"`
	// ServiceTag, VersionTag and RingTag name the DogStatsD tags holding
	// the service (required on every line), app version and rollout ring.
	ServiceTag string `yaml:"service_tag"`
	VersionTag string `yaml:"version_tag"`
	RingTag    string `yaml:"ring_tag"`
	// ReleaseTag, when set, names the tag holding the release id of the
	// line's cohort, which the detector resolves to the release's version
	// (README, "Samples that name a release"). No default.
	ReleaseTag string `yaml:"release_tag"`
	// FlushInterval is the period counters are summed over (default 10s).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// CounterTTL is how long a counter without increments keeps being
	// published as 0 (default 5m).
	CounterTTL time.Duration `yaml:"counter_ttl"`
	// MaxDatagram caps a datagram in bytes (default 8192, at most 65507).
	MaxDatagram int `yaml:"max_datagram"`
	// MaxKeys caps the counters and gauges remembered (default 10000); new
	// ones beyond it are dropped and counted.
	MaxKeys int `yaml:"max_keys"`
	// Ratios are computed from counters at each flush.
	Ratios []Ratio `yaml:"ratios"`
	// Counts publish counters as counts per flush interval.
	Counts []Count `yaml:"counts"`
}

// Count publishes Name = the sum of Counter's increments over each flush
// interval (each divided by its sample rate), per service, version and
// ring: a count, not a rate. A counter without increments in an interval
// gives 0 while it is remembered (CounterTTL).
type Count struct {
	Name    string `yaml:"name"`
	Counter string `yaml:"counter"`
}

// Ratio publishes Name = rate(Numerator) / rate(Denominator) per service,
// version and ring at each flush where the denominator moved.
type Ratio struct {
	Name        string `yaml:"name"`
	Numerator   string `yaml:"numerator"`
	Denominator string `yaml:"denominator"`
}

// Validate applies defaults and checks the section.
func (c *Config) Validate() error {
	problems := crawlers.Problems{Prefix: "statsd."}
	bad := problems.Add
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("listen", "%q has no valid port", c.Listen)
	}
	for _, t := range []struct {
		field string
		v     *string
		def   string
	}{{"service_tag", &c.ServiceTag, DefaultServiceTag}, {"version_tag", &c.VersionTag, DefaultVersionTag}, {"ring_tag", &c.RingTag, DefaultRingTag}} {
		if *t.v == "" {
			*t.v = t.def
		}
		if bytes.ContainsAny([]byte(*t.v), ":,|# ") {
			bad(t.field, "%q must not contain ':', ',', '|', '#' or spaces", *t.v)
		}
	}
	if c.ServiceTag == c.VersionTag || c.ServiceTag == c.RingTag || c.VersionTag == c.RingTag {
		bad("service_tag", "the service, version and ring tags must differ")
	}
	if c.ReleaseTag != "" {
		if bytes.ContainsAny([]byte(c.ReleaseTag), ":,|# ") {
			bad("release_tag", "%q must not contain ':', ',', '|', '#' or spaces", c.ReleaseTag)
		} else if c.ReleaseTag == c.ServiceTag || c.ReleaseTag == c.VersionTag || c.ReleaseTag == c.RingTag {
			bad("release_tag", "%q is also the service, version or ring tag", c.ReleaseTag)
		}
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.FlushInterval < 100*time.Millisecond {
		bad("flush_interval", "%s is shorter than 100ms", c.FlushInterval)
	}
	if c.CounterTTL == 0 {
		c.CounterTTL = DefaultCounterTTL
	}
	if c.CounterTTL < 0 {
		bad("counter_ttl", "%s is negative", c.CounterTTL)
	}
	if c.MaxDatagram == 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	if c.MaxDatagram < 512 || c.MaxDatagram > MaxUDPPayload {
		bad("max_datagram", "%d, want 512 to %d", c.MaxDatagram, MaxUDPPayload)
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d, want at least 1", c.MaxKeys)
	}
	for i, r := range c.Ratios {
		field := fmt.Sprintf("ratios[%d]", i)
		if r.Name == "" {
			bad(field+".name", "required")
		}
		if r.Numerator == "" {
			bad(field+".numerator", "required")
		}
		if r.Denominator == "" {
			bad(field+".denominator", "required")
		}
	}
	for i, n := range c.Counts {
		field := fmt.Sprintf("counts[%d]", i)
		if n.Name == "" {
			bad(field+".name", "required")
		}
		if n.Counter == "" {
			bad(field+".counter", "required")
		}
		if n.Name == n.Counter && n.Name != "" {
			bad(field+".name", "%q is the counter's own name, whose per-second rate is published too: choose another name", n.Name)
		}
	}
	return problems.Err()
}

// Publisher publishes one metric sample; bus.Publisher is one.
type Publisher interface {
	Metric(ctx context.Context, m signals.MetricSample) error
}

// Stats are the listener's counts since it started.
type Stats struct {
	Datagrams uint64 // received
	Oversized uint64 // datagrams over MaxDatagram, dropped whole
	Lines     uint64 // lines read (empty lines excluded)
	Samples   uint64 // samples published
	BadLines  uint64 // malformed lines
	// NoService counts lines without the service tag (or with an invalid service name).
	NoService     uint64
	Unsupported   uint64 // sets, events, service checks
	DroppedKeys   uint64 // new counters or gauges refused over MaxKeys
	PublishErrors uint64 // samples lost because publishing failed
}

// key names one series.
type key struct {
	service, version, release, ring, name string
}

// counter is a counter's state between flushes.
type counter struct {
	sum  float64   // increments this interval, scaled by sample rate
	seen time.Time // last increment
}

// Listener receives StatsD datagrams on a UDP socket.
type Listener struct {
	cfg  Config
	conn *net.UDPConn
	pub  Publisher
	log  *slog.Logger
	now  func() time.Time

	// Owned by Run's goroutine.
	counters map[key]*counter
	gauges   map[key]float64
	since    time.Time // start of the flush interval (monotonic clock)
	warn     *sparselog.Logger

	datagrams, oversized, lines, samples, badLines, noService, unsupported, droppedKeys, publishErrors atomic.Uint64
}

// Listen validates cfg and binds its UDP address; Run then serves it. now
// stamps samples (nil: time.Now). Call Close if Run is never called.
func Listen(cfg Config, pub Publisher, logger *slog.Logger, now func() time.Time) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("statsd.listen: resolving %q: %w", cfg.Listen, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("statsd: listening on %s: %w", cfg.Listen, err)
	}
	return &Listener{
		cfg: cfg, conn: conn, pub: pub, log: logger, now: now,
		counters: make(map[key]*counter),
		gauges:   make(map[key]float64),
		warn:     &sparselog.Logger{Log: logger, Every: 10 * time.Second},
	}, nil
}

// Addr is the bound address (useful with port 0).
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// Close releases the socket; Run returns after it.
func (l *Listener) Close() error { return l.conn.Close() }

// Stats returns the counts so far; it is safe to call while Run runs.
func (l *Listener) Stats() Stats {
	return Stats{
		Datagrams: l.datagrams.Load(), Oversized: l.oversized.Load(), Lines: l.lines.Load(),
		Samples: l.samples.Load(), BadLines: l.badLines.Load(), NoService: l.noService.Load(),
		Unsupported: l.unsupported.Load(), DroppedKeys: l.droppedKeys.Load(), PublishErrors: l.publishErrors.Load(),
	}
}

// Run reads datagrams until ctx ends or Close is called, then publishes the
// counters of the last, partial interval and returns nil. It returns an
// error only if the socket fails.
func (l *Listener) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { l.conn.Close() })
	defer stop()
	defer l.conn.Close()
	// One byte more than the cap tells "too large" from "exactly the cap"
	// (a larger datagram is truncated to the buffer without an error).
	buf := make([]byte, l.cfg.MaxDatagram+1)
	l.since = time.Now()
	next := l.since.Add(l.cfg.FlushInterval)
	for {
		if err := l.conn.SetReadDeadline(next); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("statsd: setting read deadline: %w", err)
		}
		n, _, err := l.conn.ReadFromUDP(buf)
		if n > 0 {
			l.datagram(ctx, buf[:n])
		}
		var ne net.Error
		switch {
		case err == nil, errors.As(err, &ne) && ne.Timeout():
		case errors.Is(err, net.ErrClosed):
			// Publish the last interval even though ctx is done.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(fctx)
			cancel()
			return nil
		default:
			return fmt.Errorf("statsd: reading from %s: %w", l.cfg.Listen, err)
		}
		// After ctx ends the closed socket's branch above flushes.
		if !time.Now().Before(next) && ctx.Err() == nil {
			l.flush(ctx)
			next = next.Add(l.cfg.FlushInterval)
			if now := time.Now(); next.Before(now) {
				next = now.Add(l.cfg.FlushInterval) // the flush itself was slow
			}
		}
	}
}

// datagram handles the lines of one datagram.
func (l *Listener) datagram(ctx context.Context, b []byte) {
	l.datagrams.Add(1)
	if len(b) > l.cfg.MaxDatagram {
		l.oversized.Add(1)
		l.warn.Warn("dropping oversized statsd datagram", "max_bytes", l.cfg.MaxDatagram)
		return
	}
	now := l.now().UTC()
	for raw := range bytes.SplitSeq(b, []byte("\n")) {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		l.lines.Add(1)
		ln, err := parseLine(raw)
		switch {
		case errors.Is(err, errUnsupported):
			l.unsupported.Add(1)
			continue
		case err != nil:
			l.badLines.Add(1)
			l.warn.Warn("skipping bad statsd line", "err", err, "line", clip(raw))
			continue
		}
		service := ln.tags[l.cfg.ServiceTag]
		if !bus.ValidToken(service) {
			l.noService.Add(1)
			l.warn.Warn("skipping statsd line without a valid service tag", "tag", l.cfg.ServiceTag, "line", clip(raw))
			continue
		}
		k := key{service: service, version: ln.tags[l.cfg.VersionTag], ring: ln.tags[l.cfg.RingTag], name: ln.name}
		if l.cfg.ReleaseTag != "" {
			k.release = ln.tags[l.cfg.ReleaseTag]
		}
		at := now
		if !ln.time.IsZero() {
			at = ln.time
		}
		switch ln.typ {
		case typeCounter:
			c := l.counters[k]
			if c == nil {
				if len(l.counters) >= l.cfg.MaxKeys {
					l.droppedKeys.Add(1)
					l.warn.Warn("too many statsd counters; dropping a new one", "max_keys", l.cfg.MaxKeys, "name", k.name)
					continue
				}
				c = &counter{}
				l.counters[k] = c
			}
			for _, v := range ln.values {
				c.sum += v / ln.rate
			}
			c.seen = time.Now()
		case typeGauge:
			v, ok := l.gauges[k]
			if !ok && len(l.gauges) >= l.cfg.MaxKeys {
				l.droppedKeys.Add(1)
				l.warn.Warn("too many statsd gauges; dropping a new one", "max_keys", l.cfg.MaxKeys, "name", k.name)
				continue
			}
			if ln.delta {
				v += ln.values[0]
			} else {
				v = ln.values[0]
			}
			l.gauges[k] = v
			l.publish(ctx, k, v, at)
		default: // timers, histograms, distributions
			for _, v := range ln.values {
				l.publish(ctx, k, v, at)
			}
		}
	}
}

// flush publishes each counter's rate over the interval, then the ratios
// and the counts, and starts a new interval. Counters idle for CounterTTL are forgotten.
func (l *Listener) flush(ctx context.Context) {
	end := time.Now()
	secs := end.Sub(l.since).Seconds()
	l.since = end
	if secs <= 0 || len(l.counters) == 0 {
		return
	}
	at := l.now().UTC()
	sums := make(map[key]float64, len(l.counters))
	keys := make([]key, 0, len(l.counters))
	for k, c := range l.counters {
		if end.Sub(c.seen) > l.cfg.CounterTTL {
			delete(l.counters, k)
			continue
		}
		sums[k] = c.sum
		c.sum = 0
		keys = append(keys, k)
	}
	// A stable order makes the stream readable and the tests simple.
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		l.publish(ctx, k, sums[k]/secs, at)
	}
	for _, r := range l.cfg.Ratios {
		for _, k := range keys {
			if k.name != r.Denominator || sums[k] <= 0 {
				continue
			}
			num := k
			num.name = r.Numerator
			ratio := k
			ratio.name = r.Name
			// The ratio of the sums: the same as of the rates, without rounding.
			l.publish(ctx, ratio, sums[num]/sums[k], at)
		}
	}
	for _, n := range l.cfg.Counts {
		for _, k := range keys {
			if k.name != n.Counter {
				continue
			}
			count := k
			count.name = n.Name
			l.publish(ctx, count, sums[k], at)
		}
	}
}

func compareKeys(a, b key) int {
	for _, p := range [][2]string{{a.service, b.service}, {a.name, b.name}, {a.version, b.version}, {a.release, b.release}, {a.ring, b.ring}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (l *Listener) publish(ctx context.Context, k key, v float64, at time.Time) {
	m := signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: k.service, Version: k.version, Release: k.release, Ring: k.ring, Name: k.name, Value: v}
	if err := l.pub.Metric(ctx, m); err != nil {
		l.publishErrors.Add(1)
		l.warn.Warn("publishing statsd sample", "name", k.name, "service", k.service, "err", err)
		return
	}
	l.samples.Add(1)
}

// clip quotes the start of a line for a log.
func clip(b []byte) string {
	const max = 120
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
