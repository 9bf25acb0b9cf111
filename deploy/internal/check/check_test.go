package check

import (
	"testing"
	"time"
)

func TestField(t *testing.T) {
	if got := Field("", "url"); got != "url" {
		t.Errorf("Field(\"\", url) = %q", got)
	}
	if got := Field("notifiers[0].slack", "url"); got != "notifiers[0].slack.url" {
		t.Errorf("Field(notifiers[0].slack, url) = %q", got)
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
		err      string
	}{
		{0, 10 * time.Second, ""},
		{time.Second, time.Second, ""},
		{MaxTimeout, MaxTimeout, ""},
		{-time.Second, -time.Second, "n.timeout: -1s, want more than 0 and at most 5m"},
		{6 * time.Minute, 6 * time.Minute, "n.timeout: 6m0s, want more than 0 and at most 5m"},
	} {
		d := tc.in
		err := Timeout("n.timeout", &d, 10*time.Second)
		if d != tc.want {
			t.Errorf("Timeout(%s): set to %s, want %s", tc.in, d, tc.want)
		}
		if got := errString(err); got != tc.err {
			t.Errorf("Timeout(%s) = %q, want %q", tc.in, got, tc.err)
		}
	}
}

func TestHTTPURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://hooks.example/x": true,
		"http://127.0.0.1:8080":   true,
		"ftp://example":           false,
		"https://":                false,
		"/relative":               false,
		"":                        false,
		"http://[::1":             false,
	} {
		if got := HTTPURL(raw); got != want {
			t.Errorf("HTTPURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
