package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourcesCheck(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.NotFound(w, r)
		case "/ok.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"posts":[{"id":"1","text":"login broken since 4.2","time":"2026-11-24T09:00:00Z","url":"https://forum.example/1"},{"id":"2","text":"older","time":"2026-11-24T08:00:00Z"}]}`)
		default:
			http.Error(w, `{"error":"gone"}`, http.StatusNotFound)
		}
	}))
	defer feed.Close()
	cfg := filepath.Join(t.TempDir(), "a.yaml")
	err := os.WriteFile(cfg, []byte(`
http: {insecure_no_auth: true}
nats: {data_dir: /tmp/unused}
sources:
  - name: good
    type: feed
    service: shop
    options: {url: "`+feed.URL+`/ok.json", format: json, json: {items: posts, id: id, text: text, time: time, url: url}}
  - name: dead
    type: feed
    service: shop
    options: {url: "`+feed.URL+`/missing.json", format: json, json: {items: posts, id: id, text: text, time: time}}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"sources", "check", "-c", cfg}, strings.NewReader(""), &out, &errb)
	t.Log(out.String())
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one source fails); stderr %s", code, errb.String())
	}
	for _, want := range []string{"good (feed, service shop): ok", "would publish 2 posts", `"login broken since 4.2"`, "dead (feed, service shop): FAILED", "404", "1 of 2 sources ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
