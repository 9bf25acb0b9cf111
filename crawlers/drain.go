package crawlers

import "context"

// Drain polls p from cursor until no page is left (Page.More is false),
// emitting each page and calling progress after each. It returns the cursor
// reached and the ids of the posts it emitted, so a streaming source that
// backfills a gap this way can drop them when the stream repeats them.
func Drain(ctx context.Context, p Poller, cursor string, emit func(Page) error, progress func()) (string, map[string]bool, error) {
	seen := make(map[string]bool)
	for {
		page, err := p.Poll(ctx, cursor)
		if err != nil {
			return "", nil, err
		}
		for _, post := range page.Posts {
			seen[post.ID] = true
		}
		if err := emit(page); err != nil {
			return "", nil, err
		}
		if progress != nil {
			progress()
		}
		if page.Cursor != "" {
			cursor = page.Cursor
		}
		if !page.More {
			return cursor, seen, nil
		}
	}
}
