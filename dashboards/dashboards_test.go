package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed dashboard JSON from Build()")

// committedDir is the provisioning JSON directory seen from this package.
const committedDir = "provisioning/dashboards/json"

// TestCommittedJSONMatchesBuild keeps the committed JSON generated: edit the
// Go, then run `go test ./dashboards -update`.
func TestCommittedJSONMatchesBuild(t *testing.T) {
	files, err := Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if *update {
		if err := WriteFiles(committedDir, files); err != nil {
			t.Fatalf("writing: %v", err)
		}
	}
	entries, err := os.ReadDir(committedDir)
	if err != nil {
		t.Fatalf("reading %s: %v", committedDir, err)
	}
	var committed []string
	for _, e := range entries {
		committed = append(committed, e.Name())
	}
	var built []string
	for name := range files {
		built = append(built, name)
	}
	sort.Strings(built)
	if strings.Join(committed, ",") != strings.Join(built, ",") {
		t.Errorf("committed files %v, Build() makes %v (run go test ./dashboards -update)", committed, built)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(committedDir, name))
		if err != nil {
			t.Errorf("%v (run go test ./dashboards -update)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from Build() (run go test ./dashboards -update); first difference near byte %d", name, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDashboardShape checks what Grafana relies on: uids, the datasource of
// every query, unique panel ids, the variables and the annotation.
func TestDashboardShape(t *testing.T) {
	files, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file       string
		uid, title string
		variables  []string
		panels     int
		annotation string
	}{
		{ReleaseFile, ReleaseUID, "Aftershock — Release watch", []string{"service", "release"}, 9, "Release events"},
		{SourcesFile, SourcesUID, "Aftershock — Sources", []string{"service"}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var d dashboardJSON
			if err := json.Unmarshal(files[tt.file], &d); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if d.UID != tt.uid || d.Title != tt.title {
				t.Errorf("uid, title = %q, %q; want %q, %q", d.UID, d.Title, tt.uid, tt.title)
			}
			if n := bytes.Count(files[tt.file], []byte(`": ""`)); n > 0 {
				t.Errorf("%d empty option values (the SDK's zero values; set them)", n)
			}
			if d.SchemaVersion != schemaVersion {
				t.Errorf("schemaVersion = %d, want %d", d.SchemaVersion, schemaVersion)
			}
			var names []string
			for _, v := range d.Templating.List {
				names = append(names, v.Name)
				checkDatasource(t, "variable "+v.Name, v.Datasource)
				if v.Query.Query == "" || v.Definition != v.Query.Query {
					t.Errorf("variable %s: query %q, definition %q", v.Name, v.Query.Query, v.Definition)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.variables, ",") {
				t.Errorf("variables = %v, want %v", names, tt.variables)
			}
			if len(d.Panels) != tt.panels {
				t.Errorf("%d panels, want %d", len(d.Panels), tt.panels)
			}
			ids := map[int]bool{}
			for _, p := range d.Panels {
				if p.ID == 0 || ids[p.ID] {
					t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
				}
				ids[p.ID] = true
				if p.GridPos.W == 0 || p.GridPos.H == 0 {
					t.Errorf("panel %q: no size", p.Title)
				}
				if p.Type != "text" {
					checkDatasource(t, "panel "+p.Title, p.Datasource)
					if len(p.Targets) == 0 {
						t.Errorf("panel %q has no query", p.Title)
					}
				}
				for _, tg := range p.Targets {
					checkDatasource(t, "panel "+p.Title+" "+tg.RefID, tg.Datasource)
					if tg.RefID == "" || tg.Query == "" {
						t.Errorf("panel %q: target %+v", p.Title, tg)
					}
				}
			}
			var annos []string
			for _, a := range d.Annotations.List {
				annos = append(annos, a.Name)
				checkDatasource(t, "annotation "+a.Name, a.Datasource)
				if a.Target.Query == "" || !a.Enable {
					t.Errorf("annotation %s: enabled %v, query %q", a.Name, a.Enable, a.Target.Query)
				}
				if a.Mappings["text"].Value != "text" {
					t.Errorf("annotation %s: text mapping %+v", a.Name, a.Mappings["text"])
				}
			}
			if strings.Join(annos, ",") != tt.annotation {
				t.Errorf("annotations = %v, want %q", annos, tt.annotation)
			}
		})
	}
}

func checkDatasource(t *testing.T, what string, ds *datasourceJSON) {
	t.Helper()
	if ds == nil || ds.Type != DatasourceType || ds.UID != DatasourceUID {
		t.Errorf("%s: datasource %+v, want %s/%s", what, ds, DatasourceType, DatasourceUID)
	}
}

func TestBuildWithBucket(t *testing.T) {
	tests := []struct {
		bucket string
		want   string
	}{
		{"", `from(bucket: \"aftershock\")`},
		{"aftershock/autogen", `from(bucket: \"aftershock/autogen\")`},
		{`we"ird\`, `from(bucket: \"we\\\"ird\\\\\")`},
	}
	for _, tt := range tests {
		t.Run(tt.bucket, func(t *testing.T) {
			files, err := BuildWith(Options{Bucket: tt.bucket})
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range files {
				n := strings.Count(string(data), "from(bucket: ")
				if n == 0 || strings.Count(string(data), tt.want) != n {
					t.Errorf("%s: %d queries, %d with %s", name, n, strings.Count(string(data), tt.want), tt.want)
				}
			}
		})
	}
}

func TestUnescapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a |\u003e b \u003c \u0026"`, `"a |> b < &"`},
		{`"kept \\u003e"`, `"kept \\u003e"`}, // an escaped backslash, then plain text
		{`"\" \n \u00e9"`, `"\" \n \u00e9"`},
		{`"end\\"`, `"end\\"`},
	}
	for _, tt := range tests {
		got := string(unescapeHTML([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tt.in, got, tt.want)
		}
		var a, b any
		if err := json.Unmarshal([]byte(tt.in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(got), &b); err != nil || a != b {
			t.Errorf("%s decodes to %v (%v), want %v", got, b, err, a)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "json")
	if err := Write(dir); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	files, _ := Build()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: err %v, equal %v", name, err, bytes.Equal(got, want))
		}
	}
	// A file where the directory should be is a clear error.
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(blocked); err == nil || !strings.Contains(err.Error(), "creating dashboards directory") {
		t.Errorf("Write(file) = %v", err)
	}
}

// The parts of the dashboard JSON the tests read.
type dashboardJSON struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []struct {
		ID         int             `json:"id"`
		Type       string          `json:"type"`
		Title      string          `json:"title"`
		Datasource *datasourceJSON `json:"datasource"`
		GridPos    struct{ W, H int }
		Targets    []targetJSON `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Datasource *datasourceJSON `json:"datasource"`
			Definition string          `json:"definition"`
			Query      targetJSON      `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name       string          `json:"name"`
			Enable     bool            `json:"enable"`
			Datasource *datasourceJSON `json:"datasource"`
			Target     targetJSON      `json:"target"`
			Mappings   map[string]struct {
				Source string `json:"source"`
				Value  string `json:"value"`
			} `json:"mappings"`
		} `json:"list"`
	} `json:"annotations"`
}

type datasourceJSON struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type targetJSON struct {
	RefID      string          `json:"refId"`
	Query      string          `json:"query"`
	Datasource *datasourceJSON `json:"datasource"`
}
