package scenarios

import (
	"fmt"
	"path/filepath"

	"github.com/aftershock/aftershock/signals/realdata"
)

// Social posts: the labelled sets of signals/testdata/complaints-* (social
// posts written and labelled blind by signals/testdata/complaints-heldout/
// RULES.md), mixed into a set's draws so that the judge is measured on the
// kind of text it meets in production — short posts with chatter,
// questions, bystanders' headlines and other companies' outages — and not
// only on app and movie reviews. A set's own texts stay what they were;
// with WithSocial a share of the draws comes from the social posts.

// SocialDir is where the labelled social sets are, from this package.
const SocialDir = "../../signals/testdata"

// WithSocial returns a copy of p whose ordinary complaints, incident
// complaints and neutral background (English) or positive background
// (Korean) draw share of their texts from the labelled social posts of
// set (a folder under SocialDir): complaint rows for the complaints,
// the other rows for the background. Launch buzz and spam bursts keep the
// reviews' praise. A post's stars are left out (no app-store rating).
func (p *Pools) WithSocial(dir, set string, share float64) (*Pools, error) {
	if share <= 0 || share > 1 {
		return nil, fmt.Errorf("social share %v: want (0, 1]", share)
	}
	q := *p
	q.SocialSet, q.SocialShare = set, share
	q.ENSocialComplaint, q.ENSocialOther, q.KOSocialComplaint, q.KOSocialOther = nil, nil, nil, nil
	posts, err := realdata.ReadLabelledPosts(filepath.Join(dir, set, "posts.tsv"))
	if err != nil {
		return nil, fmt.Errorf("social set %s: %w", set, err)
	}
	for _, lp := range posts {
		r := Review{Text: lp.Text, Lang: lp.Lang, Label: socialOther}
		if lp.Complaint {
			r.Label = socialComplaint
		}
		switch {
		case r.Text == "":
		case r.Lang == "en" && lp.Complaint:
			q.ENSocialComplaint = append(q.ENSocialComplaint, r)
		case r.Lang == "en":
			q.ENSocialOther = append(q.ENSocialOther, r)
		case r.Lang == "ko" && lp.Complaint:
			q.KOSocialComplaint = append(q.KOSocialComplaint, r)
		case r.Lang == "ko":
			q.KOSocialOther = append(q.KOSocialOther, r)
		}
	}
	for name, n := range map[string]int{
		"English complaint": len(q.ENSocialComplaint), "English other": len(q.ENSocialOther),
		"Korean complaint": len(q.KOSocialComplaint), "Korean other": len(q.KOSocialOther),
	} {
		if n < 20 {
			return nil, fmt.Errorf("social set %s: only %d %s posts", set, n, name)
		}
	}
	return &q, nil
}

// Labels of the social posts (Review.Label).
const (
	socialComplaint = "social-complaint"
	socialOther     = "social-other"
)

// draw picks a text from pool, or with the pools' social share from social
// when social posts are mixed in. Without them it draws exactly as before
// (one random number), so the sets without social posts are unchanged.
func (g *gen) draw(pool, social []Review) Review {
	if g.pools.SocialShare > 0 && len(social) > 0 && g.rng.Float64() < g.pools.SocialShare {
		return pick(g.rng, social)
	}
	return pick(g.rng, pool)
}
