package signals

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // Go type, "" when an error is expected
		errPart string
	}{
		{"post", `{"type":"post","time":"2026-11-24T09:30:00Z","source":"mastodon","id":"109","service":"shop","text":"hi","extra":1}`, "*signals.Post", ""},
		{"metric", `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","name":"error_rate","value":0.012}`, "*signals.MetricSample", ""},
		{"release", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"shop-4.2.0","service":"shop","ring":"H2","event":"started"}`, "*signals.ReleaseEvent", ""},
		{"rollup", `{"type":"rollup","time":"2026-11-24T09:30:00Z","service":"shop","source":"x","posts":3,"negative":1}`, "*signals.Rollup", ""},
		{"verdict", `{"type":"verdict","time":"2026-11-24T09:30:00Z","release":"r","service":"shop","ring":"H2","decision":"fail"}`, "*signals.Verdict", ""},
		{"anomaly", `{"type":"anomaly","time":"2026-11-24T09:30:00Z","service":"shop","kind":"volume_spike"}`, "*signals.Anomaly", ""},
		{"missing type", `{"time":"2026-11-24T09:30:00Z"}`, "", "missing \"type\""},
		{"unknown type", `{"type":"tweet"}`, "", "unknown type"},
		{"malformed", `{"type":`, "", "invalid message"},
		{"missing time", `{"type":"post","source":"m","id":"1","service":"shop"}`, "", "missing \"time\""},
		{"bad event", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"r","service":"s","event":"exploded"}`, "", "unknown event"},
		{"start without ring", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"r","service":"s","event":"started"}`, "", "needs a \"ring\""},
		{"invalid utf8", "{\"type\":\"post\",\"text\":\"\xff\"}", "", "UTF-8"},
		{"oversized", `{"type":"post","text":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, "", "bytes"},
		{"rollup counts", `{"type":"rollup","time":"2026-11-24T09:30:00Z","service":"shop","source":"x","posts":1,"negative":2}`, "", "out of range"},
		{"bad time", `{"type":"metric","time":"yesterday","service":"shop","name":"e","value":1}`, "", "invalid message"},
		{"metric with release", `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","release":"r123","name":"errors","value":17}`, "*signals.MetricSample", ""},
		{"metric release oversized", `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","release":"` + strings.Repeat("r", MaxReleaseBytes+1) + `","name":"errors","value":17}`, "", "release id of 257 bytes"},
		{"metric release control", `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","release":"r1\n","name":"errors","value":17}`, "", "control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in))
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(v); got != tc.want {
				t.Fatalf("type %s, want %s", got, tc.want)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *Post:
		return "*signals.Post"
	case *MetricSample:
		return "*signals.MetricSample"
	case *ReleaseEvent:
		return "*signals.ReleaseEvent"
	case *Rollup:
		return "*signals.Rollup"
	case *Verdict:
		return "*signals.Verdict"
	case *Anomaly:
		return "*signals.Anomaly"
	}
	return "?"
}

// FuzzProbeType: on valid JSON the fast type probe agrees with
// encoding/json (case folding, last key wins, nesting, escapes elsewhere).
func FuzzProbeType(f *testing.F) {
	for _, s := range []string{
		`{"type":"post","time":"2026-11-24T09:30:00Z","source":"m","id":"1","service":"shop","text":"hi"}`,
		`{"TYPE":"metric"}`, `{"Type":"post","type":"metric"}`, `{"a":{"type":"x"},"type":"post"}`,
		`{"a":"\"type\":\"x\"","type":"release"}`, `{"a":[1,{"b":"}"}],"type" : "rollup" }`,
		`{"type":"po\u0073t"}`, `{"typ\u0065":"post"}`, `{"type":null}`, `{"type":1}`, `{}`, `[]`, `"type"`,
		`{"x":true,"y":null,"z":-1.5e3,"type":"verdict"}`, ` { "type" : "anomaly" } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, ok := probeType(data)
		if !json.Valid(data) || !utf8.Valid(data) {
			return // Decode refuses both before probing
		}
		var head struct {
			Type string `json:"type"`
		}
		err := json.Unmarshal(data, &head)
		if !ok {
			return // the slow path decides
		}
		if err != nil {
			t.Fatalf("probe read %q from %q, encoding/json fails: %v", typ, data, err)
		}
		if string(typ) != head.Type {
			t.Fatalf("probe read %q from %q, encoding/json %q", typ, data, head.Type)
		}
	})
}

// TestProbeTypeReadsPlainObjects: the fast path is taken for the messages
// the services write (so Decode unmarshals once).
func TestProbeTypeReadsPlainObjects(t *testing.T) {
	for _, s := range []string{
		`{"type":"post","time":"2026-11-24T09:30:00Z","source":"m","id":"1","service":"shop","text":"say \"hi\"","reach":{"a":[1,2]}}`,
		` {"time":"2026-11-24T09:30:00Z", "type" : "metric"}`,
	} {
		if _, ok := probeType([]byte(s)); !ok {
			t.Errorf("probe gave up on %s", s)
		}
	}
}

func BenchmarkDecodePost(b *testing.B) {
	data := []byte(`{"type":"post","time":"2026-11-24T09:30:00.123456789Z","source":"mastodon","id":"109345","service":"shop","text":"can't log in to the shop app since the 4.2 update, login is broken","lang":"en","author":"u17","fetched":"2026-11-24T09:30:01Z"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodePost: whenever the fast post reader accepts an input, the
// input is valid JSON and encoding/json decodes the same post from it.
func FuzzDecodePost(f *testing.F) {
	for _, s := range []string{
		`{"type":"post","time":"2026-11-24T09:30:00.123456789Z","source":"mastodon","id":"109","service":"shop","text":"can't log in","lang":"en","url":"https://x/1","author":"u","fetched":"2026-11-24T09:30:01+09:00","reach":12,"rating":4.5,"uri":"https://m/1","time_from":"id","author_time":"2026-11-24T09:29:00Z","app_version":"4.2.0"}`,
		`{"type":"post","reach":-0,"rating":-0.25}`, `{"reach":01}`, `{"reach":1.5}`, `{"rating":1e3}`, `{"rating":1.}`,
		`{"text":"a\"b"}`, `{"text":"tab	in"}`, `{"Text":"x"}`, `{"text":null}`, `{"enrichment":{}}`, `{"mood":"x"}`,
		`{"time":"2026-11-24T09:30:00Z"}x`, `{"id":"1",}`, `{}`, ` { "id" : "1" } `, `{"time":"2026-13-24T09:30:00Z"}`,
		`{"time":"2026-11-24T09:30:00.Z"}`, `{"id":"1","id":"2"}`, `{"reach":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Post
		if !utf8.Valid(data) || !decodePost(data, &fast) {
			return // Decode refuses invalid UTF-8 before
		}
		if !json.Valid(data) {
			t.Fatalf("fast reader accepted invalid JSON %q", data)
		}
		var want Post
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast reader accepted %q, encoding/json: %v", data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q:\nfast %+v\njson %+v", data, fast, want)
		}
	})
}

// TestDecodePostFastPath: what crawlers publish takes the fast path.
func TestDecodePostFastPath(t *testing.T) {
	p := Post{Type: TypePost, Time: time.Date(2026, 11, 24, 9, 30, 0, 123, time.UTC), Source: "mastodon", ID: "1", Service: "shop",
		Text: "can't log in", Lang: "en", URL: "https://example.com/1", Author: "u", Fetched: time.Now(), Reach: 3, Rating: 4.5, AppVersion: "4.2"}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got Post
	if !decodePost(data, &got) {
		t.Fatalf("fast path refused %s", data)
	}
	if !got.Time.Equal(p.Time) || !got.Fetched.Equal(p.Fetched) || got.Text != p.Text || got.Reach != 3 || got.Rating != 4.5 || got.AppVersion != "4.2" {
		t.Errorf("decoded %+v, want %+v", got, p)
	}
}

// FuzzAppendPostJSON: the fast encoder writes exactly what json.Marshal
// writes, whenever it takes a post.
func FuzzAppendPostJSON(f *testing.F) {
	f.Add("post", int64(1764000000123456789), 0, "mastodon", "109", "shop", "can't <log> in & \"so\"\n\t\x01 로그인 \u2028", "en", "https://x/?a=1&b=2", "u", 3, 4.5, "", "id", int64(0), "4.2.0")
	f.Add("", int64(-62135596800000000), -3600*5-1800, "", "", "", "\xff\xfe", "", "", "", -7, 1e-7, "uri", "", int64(1), "")
	f.Add("post", int64(0), 60, "s", "i", "v", "\b\f\u2029", "", "", "", 0, 1e21, "", "", int64(253402300800000000), "")
	f.Fuzz(func(t *testing.T, typ string, ns int64, off int, source, id, service, text, lang, url, author string, reach int, rating float64, uri, timeFrom string, authorNS int64, appVersion string) {
		zone := time.FixedZone("", off)
		p := Post{Type: typ, Time: time.Unix(0, ns).In(zone), Source: source, ID: id, Service: service, Text: text, Lang: lang, URL: url,
			Author: author, Fetched: time.Unix(0, ns/3).UTC(), Reach: reach, Rating: rating, URI: uri, TimeFrom: timeFrom, AppVersion: appVersion}
		if authorNS != 0 {
			p.AuthorTime = time.Unix(0, authorNS).In(zone)
		}
		got, ok := AppendPostJSON(nil, &p)
		want, err := json.Marshal(&p)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast encoder took a post json.Marshal refuses (%v): %+v", err, p)
		}
		if string(got) != string(want) {
			t.Fatalf("fast %s\njson %s", got, want)
		}
	})
}

// TestAppendPostJSONCoversPost fails when Post gains a field: teach
// AppendPostJSON and decodePost the new field, then add it here.
func TestAppendPostJSONCoversPost(t *testing.T) {
	known := "Type Time Source ID Service Text Lang URL Author Fetched Reach Rating URI TimeFrom AuthorTime AppVersion Enrichment"
	var names []string
	rt := reflect.TypeFor[Post]()
	for i := range rt.NumField() {
		names = append(names, rt.Field(i).Name)
	}
	if got := strings.Join(names, " "); got != known {
		t.Fatalf("Post fields changed:\n got %s\nwant %s", got, known)
	}
}
