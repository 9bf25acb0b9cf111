package check

import (
	"os"
	"strings"
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

func TestSecret(t *testing.T) {
	file := t.TempDir() + "/key"
	if err := os.WriteFile(file, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, inline, want, err string
	}{
		{"file", file, "", "from-file", ""},
		{"inline", "", "from-env", "from-env", ""},
		{"both", file, "from-env", "", "set key_file or key, not both"},
		{"neither", "", "", "", "required (a key)"},
		{"missing file", file + "-nope", "", "", "reading key_file:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Secret(tc.file, tc.inline, "key_file", "key", "a key")
			if tc.err == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want it to contain %q", err, tc.err)
			}
			if strings.Contains(errString(err), "from-env") || strings.Contains(errString(err), "from-file") {
				t.Fatalf("error %v contains the secret", err)
			}
		})
	}
}
