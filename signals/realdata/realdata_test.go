package realdata

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadKoReviews(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ko-reviews/train.tsv", "label\trating\ttext\n1\t10\t최고의 영화\n0\t1\t시간 아까움\n")
	got, err := ReadKoReviews(dir, "train.tsv")
	if err != nil {
		t.Fatal(err)
	}
	want := []KoReview{{"최고의 영화", true, 10}, {"시간 아까움", false, 1}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
	write(t, dir, "ko-reviews/bad.tsv", "label\trating\ttext\n7\t10\tx\n")
	if _, err := ReadKoReviews(dir, "bad.tsv"); err == nil {
		t.Error("label 7 accepted")
	}
	if _, err := ReadKoReviews(dir, "dev.tsv"); !errors.Is(err, ErrAbsent) {
		t.Errorf("missing file: %v, want ErrAbsent", err)
	}
}

func TestReadAppReviews(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app-reviews/reviews.tsv", "label\trating\ttitle\tcomment\n"+
		"Bug\t5\tAlmost perfect\tBesides the occasional crash, great\n"+
		"Rating\t1\tAwful!\tworst app\n"+
		"Feature\t1\tPlease add\tdark mode please\n"+
		"UserExperience\t4\t\tworks for me\n")
	got, err := ReadAppReviews(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		text      string
		complaint bool
	}{
		{"Almost perfect. Besides the occasional crash, great", true},
		{"Awful! worst app", true},
		{"Please add. dark mode please", false},
		{"works for me", false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d reviews, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Text != w.text || got[i].Complaint() != w.complaint {
			t.Errorf("review %d: %q complaint %v, want %q %v", i, got[i].Text, got[i].Complaint(), w.text, w.complaint)
		}
	}
	write(t, dir, "app-reviews/reviews.tsv", "label\trating\ttitle\tcomment\nBug\tfive\tx\ty\n")
	if _, err := ReadAppReviews(dir); err == nil {
		t.Error("rating five accepted")
	}
}

func TestSplitsAreStable(t *testing.T) {
	// the splits are part of the measured figures: they must never move
	for text, want := range map[string]string{"a": AppHeldOut, "b": AppFit, "hello world": AppFit, "crash": AppCheck} {
		if got := AppSplit(text); got != want {
			t.Errorf("AppSplit(%q) = %s, want %s", text, got, want)
		}
	}
	if !KoValidation("a") || KoValidation("b") {
		t.Error("KoValidation moved")
	}
	n := map[string]int{}
	val := 0
	for i := range 10000 {
		s := string(rune('가'+i%500)) + string(rune('가'+i/500))
		n[AppSplit(s)]++
		if KoValidation(s) {
			val++
		}
	}
	if n[AppHeldOut] < 2700 || n[AppHeldOut] > 3300 || n[AppCheck] < 1700 || n[AppCheck] > 2300 || val < 800 || val > 1200 {
		t.Errorf("split sizes %v, validation %d of 10000", n, val)
	}
}

func TestReadLabelledPosts(t *testing.T) {
	head := "id\tlang\tservice\tis_complaint\tcategories\ttext\n"
	dir := t.TempDir()
	write(t, dir, "ok.tsv", head+"d-1\ten\tpayly\t1\tlogin,payment\tcan't log in, and it charged me\td-2 is not a field\n"+"d-2\tko\tnone\t0\t\t오늘 날씨 좋다\n")
	posts, err := ReadLabelledPosts(filepath.Join(dir, "ok.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || !posts[0].Complaint || len(posts[0].Categories) != 2 || posts[0].Service != "payly" ||
		posts[1].Complaint || posts[1].Categories != nil || posts[1].Lang != "ko" || posts[1].Text != "오늘 날씨 좋다" {
		t.Fatalf("read %+v", posts)
	}
	if posts[0].Text != "can't log in, and it charged me\td-2 is not a field" {
		t.Errorf("a tab in the text cut it: %q", posts[0].Text)
	}
	for name, body := range map[string]string{
		"five fields": head + "d-1\ten\tpayly\t1\tlogin\n",
		"label 2":     head + "d-1\ten\tpayly\t2\t\ttext\n",
	} {
		write(t, dir, "bad.tsv", body)
		if _, err := ReadLabelledPosts(filepath.Join(dir, "bad.tsv")); err == nil || !strings.Contains(err.Error(), "bad.tsv:2") {
			t.Errorf("%s: %v, want an error naming line 2", name, err)
		}
	}
	if _, err := ReadLabelledPosts(filepath.Join(dir, "missing.tsv")); !errors.Is(err, ErrAbsent) {
		t.Errorf("missing file: %v", err)
	}
}
