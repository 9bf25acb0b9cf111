package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadDetectorConfig: a detector section that would judge differently
// from what its author meant stops `aftershock serve` at start-up (exit 2)
// and `aftershock replay -c` (exit 1), naming the field. Each case is one
// mistake in an otherwise good file.
func TestBadDetectorConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, detector, want string
	}{
		{"critical typo of a category", "critical: [release_complaints, logn]", `detector.critical[1]: "logn" is not a signal or complaint category; did you mean "login"?`},
		{"critical typo of a signal", "critical: [release_complaint]", `detector.critical[0]: "release_complaint" is not a signal or complaint category; did you mean "release_complaints"?`},
		{"critical wrong case", "critical: [Login]", `did you mean "login"?`},
		{"critical typo of the error counts", "critical: [erors]", `detector.critical[0]: "erors" is not a signal or complaint category; did you mean "errors"?`},
		{"must_have_data typo of a configured count pair", "error_counts: [{name: checkout_errors, errors: e, requests: r}]\n  must_have_data: [checkout_error]", `did you mean "checkout_errors"?`},
		{"error_counts with one sample twice", "error_counts: [{name: errors, errors: errors, requests: errors}]", `detector.error_counts[0].requests: "errors" is also the errors sample`},
		{"critical not a name", "critical: [\"error rate!\"]", `detector.critical[0]: unknown signal or category "error rate!"`},
		{"must_have_data typo", "must_have_data: [negative_shares]", `detector.must_have_data[0]: "negative_shares" is not a signal; did you mean "negative_share"?`},
		{"dry_run unknown", "dry_run: [\"emerging terms\"]", `detector.dry_run[0]: unknown signal "emerging terms"`},
		{"negative soak", "soak: -1h", "detector.soak: negative"},
		{"negative service soak", "service_soak: {shop: -2h}", "detector.service_soak.shop: negative"},
		{"service soak of no service", "service_soak: {shpo: 48h}", `detector.service_soak.shpo: "shpo" is not one of services[].name`},
		{"negative budget", "false_halt_every: -2160h", "detector.false_halt_every: -2160h0m0s is negative"},
		{"budget under a day", "false_halt_every: 1h", "detector.false_halt_every: 1h0m0s is shorter than a day"},
		{"consecutive below 1", "consecutive: -1", "detector.consecutive: must be at least 1"},
		{"negative silence", "silence_after: -30m", "detector.silence_after: -30m0s is negative"},
		{"silence gaps below 1", "silence_gaps: 0.5", "detector.silence_gaps: 0.5, want at least 1"},
		{"negative min_baseline", "min_baseline: -30m", "detector.min_baseline: -30m0s is negative"},
		{"negative min_samples", "min_samples: -5", "detector.min_samples: -5 is negative"},
		{"max_watch too short", "max_watch: 30m", "detector.max_watch: 30m0s is shorter than an hour"},
		{"bad no_data", "rings: [{name: H1, no_data: maybe}]", `detector.rings[0].no_data: "maybe", want wait, pass or fail`},
		{"unknown key", "service_soaks: {shop: 48h}", "service_soaks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			cfg := "nats: {data_dir: " + filepath.Join(dir, "nats") + "}\nhttp: {insecure_no_auth: true}\nservices: [{name: shop}]\ndetector:\n  " + tc.detector + "\n"
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"serve", "-c", path}, strings.NewReader(""), &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("serve: exit %d (want 2), stderr %q, want it to say %q", code, errb.String(), tc.want)
			}
			out.Reset()
			errb.Reset()
			if code := run(context.Background(), []string{"replay", "-c", path, "-"}, strings.NewReader(""), &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("replay -c: exit %d (want 1), stderr %q, want it to say %q", code, errb.String(), tc.want)
			}
		})
	}
}

// TestGoodDetectorConfigAccepted: what the bad cases above must not catch —
// metric names (any metric may be critical), categories, the per-service
// soak of a configured service.
func TestGoodDetectorConfigAccepted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "good.yaml")
	cfg := `services: [{name: shop}, {name: cart}]
detector:
  critical: [release_complaints, negative_share, error_rate, http_5xx, latency_p99, checkout_errors, login, data_loss, outage]
  must_have_data: [complaint_volume, error_rate]
  dry_run: []
  soak: 12h
  service_soak: {shop: 48h, cart: 0s}
  false_halt_every: 720h
  error_counts: [{name: errors, errors: errors, requests: requests}, {name: checkout_errors, errors: checkout_5xx, requests: checkout_requests}]
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	in := `{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","name":"error_rate","value":0.01}` + "\n"
	if code := run(context.Background(), []string{"replay", "-c", path, "-"}, strings.NewReader(in), &out, &errb); code != 0 {
		t.Errorf("replay -c good.yaml: exit %d, stderr %s", code, errb.String())
	}
}

// TestREADMEBadConfig: the README's bad-config example is what `aftershock
// serve` prints for that file, line by line.
func TestREADMEBadConfig(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i := strings.Index(doc, "A bad config stops start-up")
	if i < 0 {
		t.Fatal("README.md has no bad-config example")
	}
	block := func(info string) string {
		open := "```" + info + "\n"
		j := strings.Index(doc[i:], open)
		if j < 0 {
			t.Fatalf("no ```%s block after the bad-config paragraph", info)
		}
		body := doc[i+j+len(open):]
		return body[:strings.Index(body, "```")]
	}
	yaml, console := block("yaml"), block("console")
	const prompt = "$ aftershock serve -c aftershock.yaml\n"
	if !strings.HasPrefix(console, prompt) {
		t.Fatalf("console block does not start with %q", prompt)
	}
	t.Chdir(t.TempDir()) // the file is named as given: aftershock.yaml
	if err := os.WriteFile("aftershock.yaml", []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "-c", "aftershock.yaml"}, strings.NewReader(""), &out, &errb)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if want := strings.TrimPrefix(console, prompt); errb.String() != want {
		t.Errorf("README bad-config output drifted.\nREADME:\n%s\nreal:\n%s", want, errb.String())
	}
}
