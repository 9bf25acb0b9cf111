package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/aftershock/aftershock/dashboards"
)

// runDashboards writes the Grafana dashboards as JSON for provisioning.
func runDashboards(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dashboards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("o", dashboards.JSONDir, "directory to write the dashboard JSON into")
	bucket := fs.String("bucket", dashboards.DefaultBucket, "InfluxDB bucket the queries read (InfluxDB 1.8: db/rp)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	files, err := dashboards.BuildWith(dashboards.Options{Bucket: *bucket})
	if err == nil {
		err = dashboards.WriteFiles(*dir, files)
	}
	if err != nil {
		fmt.Fprintf(stderr, "aftershock dashboards: %v\n", err)
		return 1
	}
	for name := range files {
		fmt.Fprintf(stdout, "wrote %s/%s\n", *dir, name)
	}
	return 0
}
