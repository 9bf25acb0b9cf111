package dashboards

import (
	"os"
	"path"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// grafanaProvisioning is where docker-compose.yml mounts ./dashboards/provisioning.
const grafanaProvisioning = "/etc/grafana/provisioning"

// TestProvisioningFiles checks that the provisioning files, the compose
// mount and the dashboards agree on paths, the datasource uid and the bucket.
func TestProvisioningFiles(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID      string `yaml:"uid"`
			Type     string `yaml:"type"`
			URL      string `yaml:"url"`
			JSONData struct {
				Version       string `yaml:"version"`
				Organization  string `yaml:"organization"`
				DefaultBucket string `yaml:"defaultBucket"`
			} `yaml:"jsonData"`
			Secure map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/aftershock.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources file: apiVersion %d, %d datasources", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.UID != DatasourceUID || d.Type != DatasourceType || d.URL != "http://influxdb:8086" {
		t.Errorf("datasource uid, type, url = %q, %q, %q", d.UID, d.Type, d.URL)
	}
	if d.JSONData.Version != "Flux" || d.JSONData.Organization != "aftershock" || d.JSONData.DefaultBucket != DefaultBucket {
		t.Errorf("datasource jsonData = %+v", d.JSONData)
	}
	if d.Secure["token"] != "$INFLUX_TOKEN" {
		t.Errorf("datasource token = %q, want $INFLUX_TOKEN", d.Secure["token"])
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/aftershock.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboards file: apiVersion %d, %d providers", dp.APIVersion, len(dp.Providers))
	}
	if p := dp.Providers[0]; p.Type != "file" || p.Options.Path != path.Join(grafanaProvisioning, "dashboards/json") {
		t.Errorf("provider type, path = %q, %q", p.Type, p.Options.Path)
	}
	if "dashboards/"+committedDir != JSONDir {
		t.Errorf("JSONDir = %q, the test reads %q", JSONDir, committedDir)
	}

	compose, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if mount := "./dashboards/provisioning:" + grafanaProvisioning; !strings.Contains(string(compose), mount) {
		t.Errorf("docker-compose.yml does not mount %s", mount)
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
