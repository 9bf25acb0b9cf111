package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeErrorsNameKeyAndLine: a value of the wrong type or an unknown key
// is reported by its dotted key and the line of the file the user wrote —
// not of the document as re-encoded after ${VAR} expansion, which drops
// blank lines and so moved every line number below the first blank one.
func TestDecodeErrorsNameKeyAndLine(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "bad-decode.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, env(map[string]string{"TOK": "token-0123456789abcdef"}))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"colour: unknown key (line 3)",
		"detector.pass_score: `ninety` is not a number (line 12)",
		"detector.baseline: `24x` is not a duration (e.g. 90s, 30m, 24h) (line 14)",
		"detector.rings[1].windw: unknown key (line 17)",
		"detector.rings[1].exposure: `lots` is not a number (line 17)",
		"delivery.deadline: `${TOK}` (expanded) is not a duration (e.g. 90s, 30m, 24h) (line 21)",
		"services[0].enrich.keywords: a list where a mapping was expected (line 24)",
		"notifiers[0].webhook.timeout: `10 s` is not a duration (e.g. 90s, 30m, 24h) (line 27)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "config.Config") || strings.Contains(err.Error(), "time.Duration") {
		t.Errorf("error names Go types, not the user's keys:\n%v", err)
	}
	if strings.Contains(err.Error(), "token-0") {
		t.Errorf("error shows part of a value read from the environment (a secret, maybe):\n%v", err)
	}
}

// TestSecondDocumentRefused: a file with a second YAML document ("---", as
// in Kubernetes manifests, or two configs concatenated) had everything after
// the separator ignored without a word; the daemon ran without it.
func TestSecondDocumentRefused(t *testing.T) {
	data := []byte("http: {insecure_no_auth: true}\nnats: {data_dir: /tmp/x}\n---\nlog: {level: debug}\n")
	_, err := Parse(data, env(nil))
	if err == nil || !strings.Contains(err.Error(), "a second YAML document at line 4, after a \"---\"") {
		t.Fatalf("err = %v, want the second document refused with its line", err)
	}
	// a separator with nothing after it, or a "---" at the top, is fine
	for _, ok := range []string{"---\nhttp: {insecure_no_auth: true}\nnats: {data_dir: /tmp/x}\n", "http: {insecure_no_auth: true}\nnats: {data_dir: /tmp/x}\n---\n", "http: {insecure_no_auth: true}\nnats: {data_dir: /tmp/x}\n...\n"} {
		if _, err := Parse([]byte(ok), env(nil)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestEnvNumbersAndBools: ${VAR} stands for a value of any type, as the
// README says ("in values"); a number or a boolean from the environment
// (detector.pass_score: ${PASS:-95}, http.insecure_no_auth: ${NOAUTH}) was
// refused as text. A value that looks like a number stays a string where
// the key is a string (a numeric token), and a quoted reference stays text.
func TestEnvNumbersAndBools(t *testing.T) {
	data := []byte(`
http:
  insecure_no_auth: ${NOAUTH}
  tokens:
    - name: a
      token: ${TOK}
      role: deploy-system
    - {name: b, token: "${NULLTOK}", role: read-only}
nats:
  data_dir: /tmp/x
  replicas: ${REPLICAS:-1}
detector:
  pass_score: ${PASS:-95}
  alpha: ${ALPHA}
`)
	cfg, err := Parse(data, env(map[string]string{"NOAUTH": "true", "TOK": "1234567890123456789", "NULLTOK": "null-token-0123456789", "ALPHA": "0.002"}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HTTP.InsecureNoAuth || cfg.Detector.PassScore != 95 || cfg.Detector.Alpha != 0.002 || cfg.NATS.Replicas != 1 {
		t.Errorf("insecure_no_auth %v, pass_score %v, alpha %v, replicas %v", cfg.HTTP.InsecureNoAuth, cfg.Detector.PassScore, cfg.Detector.Alpha, cfg.NATS.Replicas)
	}
	if cfg.HTTP.Tokens[0].Token != "1234567890123456789" || cfg.HTTP.Tokens[1].Token != "null-token-0123456789" {
		t.Errorf("tokens %q, %q", cfg.HTTP.Tokens[0].Token, cfg.HTTP.Tokens[1].Token)
	}
}

// A long value is shown cut, on a character boundary: a Korean value cut
// in the middle of a character would make the message invalid UTF-8.
func TestClipKeepsCharacters(t *testing.T) {
	long := strings.Repeat("가", 50)
	got := clip(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || utf8.RuneCountInString(got) != 40 {
		t.Fatalf("clip = %q", got)
	}
	if clip("short") != "short" {
		t.Fatal("a short value is shown whole")
	}
}
