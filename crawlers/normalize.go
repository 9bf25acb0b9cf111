package crawlers

import (
	"strings"

	"github.com/aftershock/aftershock/signals"
)

// Lang normalises a language tag to its primary subtag, lower case:
// "en-US" → "en", "pt_BR" → "pt", "zh-Hant-TW" → "zh", "KO" → "ko". An
// empty tag, "und" and anything that is not 2–3 ASCII letters before the
// first separator give "" (unknown), so a language filter compares like
// with like.
func Lang(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if len(tag) < 2 || len(tag) > 3 {
		return ""
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i] | 0x20
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	tag = strings.ToLower(tag)
	if tag == "und" {
		return ""
	}
	return tag
}

// trackingParams are query parameters that only say where a click came
// from. Every utm_* parameter is one too.
var trackingParams = map[string]bool{
	"ref": true, "ref_src": true, "ref_source": true, "ref_url": true, "referrer": true,
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "yclid": true, "twclid": true, "igshid": true, "rdt": true,
	"mc_cid": true, "mc_eid": true, "_hsenc": true, "_hsmpl": true, "mkt_tok": true,
	"share_id": true,
}

func isTracking(key string) bool {
	k := strings.ToLower(key)
	return trackingParams[k] || strings.HasPrefix(k, "utm_")
}

// CleanURL removes tracking parameters (utm_*, ref, ref_source, fbclid, …)
// from a URL's query, keeping everything else byte for byte and in order.
// A URL without any is returned unchanged.
func CleanURL(raw string) string {
	q := strings.IndexByte(raw, '?')
	if q < 0 {
		return raw
	}
	end := len(raw)
	if h := strings.IndexByte(raw[q:], '#'); h >= 0 {
		end = q + h
	}
	parts := strings.Split(raw[q+1:end], "&")
	kept := parts[:0:0]
	for _, p := range parts {
		key, _, _ := strings.Cut(p, "=")
		if isTracking(key) {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == len(parts) {
		return raw
	}
	out := raw[:q]
	if len(kept) > 0 {
		out += "?" + strings.Join(kept, "&")
	}
	return out + raw[end:]
}

// Normalize puts a post found by any source into the one shape the rest of
// Aftershock expects: the language as its primary subtag and the URL
// without tracking parameters. The runner applies it to every post it
// publishes; sources apply it too where they filter by language.
func Normalize(p *signals.Post) {
	p.Lang = Lang(p.Lang)
	p.URL = CleanURL(p.URL)
}
