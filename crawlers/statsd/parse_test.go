package statsd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in      string
		want    line
		wantErr string // "" = ok; "unsupported"; else a substring of the error
	}{
		{in: "page.views:1|c", want: line{name: "page.views", values: []float64{1}, typ: "c", rate: 1}},
		{in: "http.errors:3|c|@0.1|#service:shop,version:4.2.0,ring:h2",
			want: line{name: "http.errors", values: []float64{3}, typ: "c", rate: 0.1, tags: map[string]string{"service": "shop", "version": "4.2.0", "ring": "h2"}}},
		{in: "lat:1.5:2:3|h|#service:shop", want: line{name: "lat", values: []float64{1.5, 2, 3}, typ: "h", rate: 1, tags: map[string]string{"service": "shop"}}},
		{in: "lat:250|ms|@0.5", want: line{name: "lat", values: []float64{250}, typ: "ms", rate: 0.5}},
		{in: "lat:250|d|#service:shop,canary", want: line{name: "lat", values: []float64{250}, typ: "d", rate: 1, tags: map[string]string{"service": "shop", "canary": ""}}},
		{in: "queue:-4|g", want: line{name: "queue", values: []float64{-4}, typ: "g", rate: 1, delta: true}},
		{in: "queue:4|g|#service:shop|c:abc123|T1795514400",
			want: line{name: "queue", values: []float64{4}, typ: "g", rate: 1, tags: map[string]string{"service": "shop"}, time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}},
		{in: "users:42|s", wantErr: "unsupported"},
		{in: "_e{5,4}:title|text", wantErr: "unsupported"},
		{in: "_sc|db|1|#service:shop", wantErr: "unsupported"},
		{in: "no type", wantErr: `no "|type"`},
		{in: ":1|c", wantErr: `no "name:value"`},
		{in: "novalue|c", wantErr: `no "name:value"`},
		{in: "x:abc|c", wantErr: `bad value "abc"`},
		{in: "x:NaN|g", wantErr: `bad value "NaN"`},
		{in: "x:+Inf|ms", wantErr: `bad value "+Inf"`},
		{in: "x:|c", wantErr: `bad value ""`},
		{in: "x:1|q", wantErr: `unknown type "q"`},
		{in: "x:1|c|@0", wantErr: "bad sample rate"},
		{in: "x:1|c|@1.5", wantErr: "bad sample rate"},
		{in: "x:1:2|g", wantErr: "a gauge has one value"},
		{in: "x:1|c||#a:b", wantErr: "empty"},
		{in: "bad name:1|c", wantErr: "bad metric name"},
		{in: "x:1|c|Tsoon", wantErr: "bad timestamp"},
		{in: "x:1|c|#service:\xff", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLine([]byte(tt.in))
			switch {
			case tt.wantErr == "unsupported":
				if !errors.Is(err, errUnsupported) {
					t.Fatalf("error %v, want unsupported", err)
				}
			case tt.wantErr != "":
				if err == nil || errors.Is(err, errUnsupported) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("error %v", err)
			case !reflect.DeepEqual(got, tt.want):
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
