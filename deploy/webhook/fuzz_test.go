package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify throws arbitrary ids, timestamps, signature headers and bodies
// at Verify. It must never panic; it may accept a message only when one of
// the header's signatures is exactly the one Sign makes for that id,
// timestamp and body under the key, with the timestamp within tolerance;
// every refusal is one of the documented errors; and a message signed
// correctly always verifies, and stops verifying once one byte of its body
// changes.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	key := []byte("a-raw-secret-of-32-bytes-length!")
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"type":"halt","release":"shop-4.2.0","ring":"H2"}`
	good := Sign(key, "halt:shop-4.2.0:H2", now, []byte(body))
	f.Add("halt:shop-4.2.0:H2", ts, good, []byte(body), int64(0))
	f.Add("halt:shop-4.2.0:H2", ts, "v1,AAAA "+good, []byte(body), int64(0))
	f.Add("id", ts, "v2,"+strings.TrimPrefix(good, "v1,"), []byte(body), int64(0))
	f.Add("id", "-1", "v1,", []byte{}, int64(301))
	f.Add("id", "9223372036854775807", "v1,!!!", []byte("x"), int64(-301))
	f.Add("", "", "", []byte(nil), int64(0))
	f.Add("id", " 1764000000", "v1,"+strings.Repeat("A", 44), []byte("\xff"), int64(1e9))
	f.Fuzz(func(t *testing.T, id, stamp, sigs string, body []byte, skew int64) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, stamp)
		h.Set(HeaderSignature, sigs)
		at := now.Add(time.Duration(skew) * time.Second)
		err := Verify(key, h, body, at, 0)
		if err == nil {
			sec, perr := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
			if perr != nil {
				t.Fatalf("accepted timestamp %q that is not unix seconds", stamp)
			}
			if d := at.Sub(time.Unix(sec, 0)); d > DefaultTolerance || d < -DefaultTolerance {
				t.Fatalf("accepted a timestamp %s away", d)
			}
			// The MAC covers the timestamp as written ("+5", "007" included).
			want := mac(key, h.Get(HeaderID), h.Get(HeaderTimestamp), body)
			found := false
			for _, s := range strings.Fields(h.Get(HeaderSignature)) {
				v, enc, _ := strings.Cut(s, ",")
				raw, err := base64.StdEncoding.DecodeString(enc)
				found = found || (v == "v1" && err == nil && bytes.Equal(raw, want))
			}
			if !found {
				t.Fatalf("accepted id %q ts %q sigs %q without the right signature", id, stamp, sigs)
			}
		} else if !errors.Is(err, ErrMissingHeaders) && !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrSignature) {
			t.Fatalf("undocumented error %v", err)
		}

		// Signed properly, the same message verifies; a changed body does not.
		if h.Get(HeaderID) == "" {
			return
		}
		h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(HeaderSignature, sigs+" "+Sign(key, h.Get(HeaderID), at, body))
		if err := Verify(key, h, body, at, 0); err != nil {
			t.Fatalf("a correctly signed message was refused: %v", err)
		}
		changed := append([]byte{}, body...)
		if len(changed) == 0 {
			changed = []byte{0}
		} else {
			changed[len(changed)/2] ^= 1
		}
		h.Set(HeaderSignature, Sign(key, h.Get(HeaderID), at, body))
		if err := Verify(key, h, changed, at, 0); !errors.Is(err, ErrSignature) {
			t.Fatalf("a changed body was not refused for its signature: %v", err)
		}
	})
}
