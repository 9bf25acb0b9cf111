// Package dashboards holds Aftershock's Grafana dashboards as code. They are
// built with the Grafana Foundation SDK, rendered to JSON and committed under
// provisioning/dashboards/json, where Grafana's file provider loads them
// (docker-compose.yml mounts ./dashboards/provisioning at
// /etc/grafana/provisioning). Every query is Flux against the InfluxDB schema
// of internal/sink/influx.
//
// Regenerate the committed JSON after a change with
//
//	go test ./dashboards -update
//
// or `aftershock dashboards -o dashboards/provisioning/dashboards/json`.
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Names shared with the provisioning files.
const (
	// DefaultBucket is the bucket the queries read unless told otherwise
	// (InfluxDB 2.x; on 1.8 it is "database/retention-policy").
	DefaultBucket = "aftershock"
	// DatasourceUID is the uid of the provisioned InfluxDB (Flux) datasource.
	DatasourceUID = "aftershock-influx"
	// DatasourceType is the Grafana plugin id of that datasource.
	DatasourceType = "influxdb"

	// ReleaseUID and SourcesUID are the dashboards' uids (stable URLs).
	ReleaseUID = "aftershock-release"
	SourcesUID = "aftershock-sources"

	// ReleaseFile and SourcesFile are the dashboards' file names.
	ReleaseFile = ReleaseUID + ".json"
	SourcesFile = SourcesUID + ".json"
)

// JSONDir is where the generated dashboards live, relative to the repository
// root; provisioning/dashboards/aftershock.yaml points Grafana at it.
const JSONDir = "dashboards/provisioning/dashboards/json"

// schemaVersion is the dashboard JSON schema written into the files. The SDK
// (v0.0.22) stamps 42 (Grafana 12); we run Grafana 11.3, whose newest schema
// is 39/40. Every field used here exists in schema 39, and Grafana migrates
// an older schema forward but leaves a newer one alone.
const schemaVersion = 39

// Options tune what Build renders.
type Options struct {
	// Bucket is the InfluxDB bucket in every query (default DefaultBucket).
	Bucket string
}

// Build renders both dashboards with the default options: file name → indented JSON.
func Build() (map[string][]byte, error) {
	return BuildWith(Options{})
}

// BuildWith renders both dashboards: file name → indented JSON (with a
// trailing newline).
func BuildWith(opts Options) (map[string][]byte, error) {
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	q := queries{bucket: opts.Bucket}
	builders := map[string]*dashboard.DashboardBuilder{
		ReleaseFile: releaseWatch(q),
		SourcesFile: sources(q),
	}
	out := make(map[string][]byte, len(builders))
	for name, b := range builders {
		d, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("building dashboard %s: %w", name, err)
		}
		d.SchemaVersion = schemaVersion
		data, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("rendering dashboard %s: %w", name, err)
		}
		out[name] = append(unescapeHTML(data), '\n')
	}
	return out, nil
}

// unescapeHTML turns the \u003c, \u003e and \u0026 that encoding/json
// writes for <, > and & back into the characters, so Flux's |> stays
// readable in the committed files. Other escapes are kept as they are.
func unescapeHTML(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 >= len(data) {
			out = append(out, data[i])
			continue
		}
		if i+5 < len(data) && data[i+1] == 'u' {
			if c, ok := htmlEscapes[string(data[i+2:i+6])]; ok {
				out = append(out, c)
				i += 5
				continue
			}
		}
		out = append(out, data[i], data[i+1]) // an escape pair: keep both
		i++
	}
	return out
}

var htmlEscapes = map[string]byte{"003c": '<', "003e": '>', "0026": '&'}

// Write renders the dashboards with the default options into dir (created
// if missing), one file each.
func Write(dir string) error {
	files, err := Build()
	if err != nil {
		return err
	}
	return WriteFiles(dir, files)
}

// WriteFiles writes what Build returned into dir (created if missing).
func WriteFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating dashboards directory: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing dashboard: %w", err))
		}
	}
	return errors.Join(errs...)
}

// datasource is the provisioned InfluxDB datasource.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(DatasourceType), Uid: cog.ToPtr(DatasourceUID)}
}

// target is one Flux query of a panel. The Go SDK has no InfluxDB query
// type, so it is an untyped query in the shape Grafana stores.
func target(refID, flux string) cog.Builder[variants.Dataquery] {
	return variants.NewUnknownDataqueryBuilderFromObject(variants.UnknownDataquery{
		"refId":      refID,
		"datasource": datasource(),
		"query":      flux,
	})
}

// legend is a visible legend below the graph (the SDK's default hides it).
func legend() cog.Builder[common.VizLegendOptions] {
	return common.NewVizLegendOptionsBuilder().
		ShowLegend(true).
		DisplayMode(common.LegendDisplayModeList).
		Placement(common.LegendPlacementBottom)
}

// tooltip lists every series at the cursor, largest first (the SDK leaves
// mode and sort empty).
func tooltip() cog.Builder[common.VizTooltipOptions] {
	return common.NewVizTooltipOptionsBuilder().
		Mode(common.TooltipDisplayModeMulti).
		Sort(common.SortOrderDescending)
}

// labels is a series display name made of the values of the given tags.
func labels(tags ...string) string {
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = "${__field.labels." + t + "}"
	}
	return strings.Join(parts, " ")
}

// queryVariable is a template variable filled by a Flux query whose result
// is one _value column.
func queryVariable(name, label, flux string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(datasource()).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"refId": "InfluxVariableQueryEditor-VariableQuery",
			"query": flux,
		}}).
		Definition(flux).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortDisabled)
}
