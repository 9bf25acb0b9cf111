package mastodon

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aftershock/aftershock/crawlers"
	"time"
)

// status is the part of a Mastodon Status entity the source reads.
type status struct {
	ID              string  `json:"id"`
	CreatedAt       string  `json:"created_at"`
	Content         string  `json:"content"`
	SpoilerText     string  `json:"spoiler_text"`
	Language        *string `json:"language"`
	URL             *string `json:"url"`
	URI             string  `json:"uri"`
	Account         account `json:"account"`
	ReblogsCount    int     `json:"reblogs_count"`
	FavouritesCount int     `json:"favourites_count"`
	Reblog          *status `json:"reblog"`

	created time.Time
}

type account struct {
	Acct string `json:"acct"`
}

// decodeStatus parses and checks one status. On error the returned status
// still carries the id when one could be read.
func decodeStatus(raw json.RawMessage) (*status, error) {
	var st status
	if err := json.Unmarshal(raw, &st); err != nil {
		// Read the id alone, so a status with one bad field still moves
		// the timeline position.
		var idOnly struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &idOnly)
		return &status{ID: idOnly.ID}, fmt.Errorf("decoding status: %w", err)
	}
	if err := st.check(); err != nil {
		return &st, err
	}
	if st.Reblog != nil {
		if err := st.Reblog.check(); err != nil {
			return &st, fmt.Errorf("boosted status: %w", err)
		}
		if st.Reblog.Reblog != nil {
			return &st, errors.New("boosted status is itself a boost")
		}
	}
	return &st, nil
}

// check validates the fields every post needs and parses created_at.
func (st *status) check() error {
	if !validID(st.ID) {
		return crawlers.Skipf(crawlers.SkipNoID, "id %q is not a number", st.ID)
	}
	t, err := time.Parse(time.RFC3339Nano, st.CreatedAt)
	if err != nil {
		return crawlers.Skipf(crawlers.SkipNoTime, "status %s: created_at %q: %w", st.ID, st.CreatedAt, err)
	}
	st.created = t.UTC()
	if st.Account.Acct == "" {
		return fmt.Errorf("status %s: no account.acct", st.ID)
	}
	return nil
}
