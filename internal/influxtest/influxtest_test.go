package influxtest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStartWriteQuery(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The v2 write endpoint of 1.8 takes the bucket as "db/rp".
	u := s.URL + "/api/v2/write?precision=s&org=&bucket=" + url.QueryEscape(s.Bucket)
	line := "probe,service=checkout value=1.5,n=3i 1700000000\n"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(line))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	rows, err := s.Query(ctx, `from(bucket: "`+s.Bucket+`")
  |> range(start: 2023-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "probe")
  |> sort(columns: ["_field"])`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2: %v", len(rows), rows)
	}
	if rows[0]["_field"] != "n" || rows[0]["_value"] != int64(3) {
		t.Errorf("row 0 = %v, want n=3 (int64)", rows[0])
	}
	if rows[1]["_field"] != "value" || rows[1]["_value"] != 1.5 || rows[1]["service"] != "checkout" {
		t.Errorf("row 1 = %v, want value=1.5 service=checkout", rows[1])
	}
	if got := rows[0]["_time"].(time.Time); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("time = %s", got)
	}

	s.Stop()
	if _, err := s.Query(ctx, `from(bucket: "`+s.Bucket+`") |> range(start: -1h)`); err == nil {
		t.Error("query after Stop succeeded")
	}
}

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv(EnvBinary, "/nonexistent/influxd")
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), EnvBinary) {
		t.Errorf("Binary() error = %v, want one naming %s", err, EnvBinary)
	}
}
