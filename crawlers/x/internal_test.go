package x

import "testing"

func TestNewer(t *testing.T) {
	tests := []struct{ a, b, want string }{
		// Past 2^53 a float64 cannot tell these apart.
		{"9007199254740993", "9007199254740992", "9007199254740993"},
		{"9007199254740992", "9007199254740993", "9007199254740993"},
		// Numeric, not lexical: a shorter id is older.
		{"999999999999999999", "2125167087449014277", "2125167087449014277"},
		{"", "2125167087449014277", "2125167087449014277"},
		{"2125167087449014277", "", "2125167087449014277"},
		{"2125167087449014277", "1.86e18", "2125167087449014277"},
		{"", "", ""},
		{"18446744073709551615", "1", "18446744073709551615"},
	}
	for _, tt := range tests {
		if got := newer(tt.a, tt.b); got != tt.want {
			t.Errorf("newer(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"2125167087449014277":  true,
		"1":                    true,
		"":                     false,
		"0":                    false,
		"0123":                 false,
		"-5":                   false,
		"+5":                   false,
		"1.86e18":              false,
		"18446744073709551616": false, // 2^64
		"12a":                  false,
	} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := cursorState{SinceID: "2125160242860785669", NextToken: "b26v89c19zqg8o3fpds2", NewestID: "2125167087449014277", Pages: 2}
	got, err := decodeCursor(c.encode())
	if err != nil || got != c {
		t.Fatalf("round trip %+v, %v; want %+v", got, err, c)
	}
	if f := c.finish(); f != (cursorState{SinceID: "2125167087449014277"}) {
		t.Errorf("finish %+v", f)
	}
	if _, err := decodeCursor(`{"since_id":"abc"}`); err == nil {
		t.Error("a non-numeric since_id decoded")
	}
}

func TestPostLangAndURL(t *testing.T) {
	for in, want := range map[string]string{"ko": "ko", "en": "en", "und": "", "zxx": "", "qme": "", "qht": "", "": ""} {
		if got := postLang(in); got != want {
			t.Errorf("postLang(%q) = %q, want %q", in, got, want)
		}
	}
	if got := postURL("mina_k", "1"); got != "https://x.com/mina_k/status/1" {
		t.Errorf("postURL = %q", got)
	}
	if got := postURL("", "1"); got != "https://x.com/i/status/1" {
		t.Errorf("postURL without username = %q", got)
	}
}
