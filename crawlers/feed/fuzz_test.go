package feed

import (
	"net/http"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
)

// FuzzParse parses a feed body (RSS, Atom, or JSON with field paths) as
// Poll does and turns each item that passes its check into a post: no
// panic, and every such post is publishable. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><language>en-us</language><item><title>Checkout down</title><guid>1</guid><pubDate>Tue, 24 Nov 2026 09:40:00 GMT</pubDate><description>&lt;p&gt;errors&lt;/p&gt;</description><dc:creator>ops</dc:creator></item></channel></rss>`))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><author><name>/u/kim</name></author><content type="html">&lt;!-- SC_OFF --&gt;&lt;div class="md"&gt;&lt;p&gt;crash&lt;/p&gt;&lt;/div&gt;&lt;!-- SC_ON --&gt; &amp;#32; submitted by &amp;#32; &lt;a href="https://www.reddit.com/user/kim"&gt; /u/kim &lt;/a&gt; [link] [comments]</content><id>t3_1</id><link href="https://www.reddit.com/r/s/comments/1/x/?ref=search_posts"/><updated>2026-11-24T09:41:07+00:00</updated><title>t</title></entry></feed>`))
	f.Add([]byte(`{"data":{"posts":[{"id":7,"title":"t","body":"<b>b</b>","created_at":1795514400,"permalink":"https://f.example/7","author":{"name":"n"},"lang":"ko-KR"}]}}`))
	spec := crawlertest.Spec(f, `name: f
type: feed
service: shop
options:
    url: https://feed.example/latest
    json:
      items: data.posts
      id: id
      title: title
      text: body
      time: created_at
      url: permalink
      author: author.name
      lang: lang
      strip_html: true
`)
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := src.parse(&scrape.Response{Status: 200, Header: http.Header{}, Body: body})
		if err != nil {
			return
		}
		for _, it := range d.items {
			if it.check() != nil {
				continue
			}
			crawlertest.CheckDecoded(t, src.post(it, now))
		}
	})
}
