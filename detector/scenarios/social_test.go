package scenarios

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/signals"
)

// TestWithSocial: a development set of labelled social posts mixed into the
// tune texts. A generated stream then holds social posts (about half of the
// complaints and the neutral background), the reviews' praise still holds
// the launch buzz, and the pools without social posts draw as before.
func TestWithSocial(t *testing.T) {
	p := loadPools(t, Tune)
	for _, share := range []float64{0, -0.5, 1.5} {
		if _, err := p.WithSocial(SocialDir, "complaints-dev", share); err == nil {
			t.Errorf("share %v accepted", share)
		}
	}
	if _, err := p.WithSocial(SocialDir, "no-such-set", 0.5); err == nil {
		t.Error("a missing set accepted")
	}
	q, err := p.WithSocial(SocialDir, "complaints-dev", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if p.SocialShare != 0 || len(p.ENSocialComplaint) != 0 {
		t.Fatal("WithSocial changed the pools it was given")
	}
	social := map[string]string{}
	for _, rs := range [][]Review{q.ENSocialComplaint, q.ENSocialOther, q.KOSocialComplaint, q.KOSocialOther} {
		for _, r := range rs {
			social[r.Text] = r.Label
		}
	}
	spec := Corpus(Tune)[0]
	var with, without bytes.Buffer
	if _, err := Generate(q, spec, &with); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(p, spec, &without); err != nil {
		t.Fatal(err)
	}
	count := func(b *bytes.Buffer) (posts, fromSocial int) {
		sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			v, err := signals.Decode(sc.Bytes())
			if err != nil {
				continue
			}
			post, ok := v.(*signals.Post)
			if !ok {
				continue
			}
			posts++
			for text := range social {
				if len(text) > 30 && strings.Contains(post.Text, text[:30]) {
					fromSocial++
					break
				}
			}
		}
		return posts, fromSocial
	}
	n, s := count(&with)
	if s*10 < n {
		t.Errorf("%d of %d posts from the social set, want at least a tenth", s, n)
	}
	if _, s0 := count(&without); s0 != 0 {
		t.Errorf("%d posts from the social set without it", s0)
	}
}
