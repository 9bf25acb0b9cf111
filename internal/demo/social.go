package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// socialAPI is a local stand-in for a social network's search API. Its posts
// are a pure function of simulated time: steady chatter with the usual share
// of grumbles, and, from incidentAt on, a wave of login complaints about the
// new version.
type socialAPI struct {
	now       func() time.Time
	historyAt time.Time // first post

	mu         sync.Mutex
	incidentAt time.Time // zero until the demo starts the incident
}

// startIncident makes the wave of complaints begin at t.
func (s *socialAPI) startIncident(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidentAt = t
}

type apiPost struct {
	ID     string    `json:"id"`
	Text   string    `json:"text"`
	Time   time.Time `json:"created_at"`
	URL    string    `json:"url"`
	Author string    `json:"author"`
}

var chatter = []string{
	"Ordered new running shoes on the shop app, delivery tomorrow",
	"the shop app has a nice clean look these days",
	"anyone know if the shop app ships to Canada?",
	"Love how fast checkout is on the shop app 😍",
	"just browsing the winter sale on shop",
	"got my order from shop today, great packaging!",
	"shop app wishlist is super handy",
	"the shop app search is a bit slow today",
	"comparing prices on shop vs the other store",
	"shop customer support was really helpful 👍",
}

var complaints = []string{
	"can't log in to the shop app since the 4.2 update 😡",
	"shop app keeps logging me out after the update, login is broken",
	"login not working on shop app!!! 'invalid session' every time",
	"@shop your new version won't let me sign in. fix it please",
	"shop 4.2 login error again. so frustrating",
	"is the shop app down? can't log in at all",
}

const (
	chatterEvery   = 15 * time.Second
	complaintEvery = 4 * time.Second
	historyWindow  = 4 * time.Hour
)

// posts returns every post up to now, newest first, within the API's search window.
func (s *socialAPI) posts(now time.Time) []apiPost {
	var out []apiPost
	from := now.Add(-historyWindow)
	for k := 0; ; k++ {
		t := s.historyAt.Add(time.Duration(k) * chatterEvery)
		if t.After(now) {
			break
		}
		if t.Before(from) {
			continue
		}
		out = append(out, apiPost{ID: fmt.Sprintf("c%d", k), Text: chatter[k%len(chatter)], Time: t, Author: fmt.Sprintf("user%d", k%97)})
	}
	s.mu.Lock()
	incidentAt := s.incidentAt
	s.mu.Unlock()
	for k := 0; !incidentAt.IsZero(); k++ {
		t := incidentAt.Add(time.Duration(k) * complaintEvery)
		if t.After(now) {
			break
		}
		out = append(out, apiPost{ID: fmt.Sprintf("x%d", k), Text: complaints[k%len(complaints)], Time: t, Author: fmt.Sprintf("angry%d", k%53)})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (s *socialAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/robots.txt":
		_, _ = w.Write([]byte("User-agent: *\nAllow: /\n"))
		return
	case "/api/search":
	default:
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("q") != "shop" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"posts":[]}`))
		return
	}
	posts := s.posts(s.now())
	for i := range posts {
		posts[i].URL = "http://" + r.Host + "/posts/" + posts[i].ID
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"posts": posts})
}
