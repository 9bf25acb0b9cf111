package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/aftershock/aftershock/internal/config"
)

// documents splits a manifest file and decodes every document strictly
// into the type its apiVersion and kind name.
func documents(t *testing.T, file string) []any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s document %d: %v", file, i, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "apps/v1 StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "networking.k8s.io/v1 NetworkPolicy":
			obj = &networkingv1.NetworkPolicy{}
		default:
			t.Fatalf("%s document %d: unexpected %s %s", file, i, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", file, i, meta.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

// first is the first of docs (from documents) that is a T, or nil.
func first[T any](docs []any) *T {
	for _, d := range docs {
		if o, ok := d.(*T); ok {
			return o
		}
	}
	return nil
}

// checkPod checks that probes and mounts refer to declared ports and volumes.
func checkPod(t *testing.T, name string, labels map[string]string, sel map[string]string, spec corev1.PodSpec) {
	t.Helper()
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod labels %v", name, k, v, labels)
		}
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		vols[v.Name] = true
	}
	for _, c := range spec.Containers {
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for what, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if pr == nil || pr.HTTPGet == nil {
				t.Errorf("%s/%s: no HTTP %s probe", name, c.Name, what)
				continue
			}
			if p := pr.HTTPGet.Port; p.Type != intstr.String || !ports[p.StrVal] {
				t.Errorf("%s/%s: %s probe on port %v, not a named container port", name, c.Name, what, p.String())
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] && m.Name != "data" {
				t.Errorf("%s/%s: mount %s has no volume", name, c.Name, m.Name)
			}
		}
		if c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s/%s: no memory request", name, c.Name)
		}
	}
}

func TestAftershockManifests(t *testing.T) {
	docs := documents(t, "aftershock.yaml")
	cm, dep, svc := first[corev1.ConfigMap](docs), first[appsv1.Deployment](docs), first[corev1.Service](docs)
	if cm == nil || dep == nil || svc == nil {
		t.Fatal("aftershock.yaml needs a ConfigMap, a Deployment and a Service")
	}
	checkPod(t, dep.Name, dep.Spec.Template.Labels, dep.Spec.Selector.MatchLabels, dep.Spec.Template.Spec)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Errorf("deployment runs %v replicas, want several (failover)", dep.Spec.Replicas)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes %s and %s, want /healthz and /readyz", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	if dep.Spec.Template.Annotations["prometheus.io/path"] != "/metrics" {
		t.Error("pod template lacks the prometheus.io scrape annotations for /metrics")
	}
	// The configuration parses, with the variables the pod's env sets.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = "value-of-" + strings.ToLower(e.Name) + "-0123456789"
	}
	cfg, err := config.Parse([]byte(cm.Data["aftershock.yaml"]), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the ConfigMap's aftershock.yaml: %v", err)
	}
	if !cfg.Cluster.Leased(cfg.NATS) || cfg.NATS.Replicas != 3 {
		t.Errorf("config shares work by %+v on %q with %d replicas, want leases on the NATS cluster, R3", cfg.Cluster, cfg.NATS.URL, cfg.NATS.Replicas)
	}
	if !strings.HasSuffix(cfg.HTTP.Listen, ":8080") || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("http.listen %s and container port %d disagree", cfg.HTTP.Listen, c.Ports[0].ContainerPort)
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "/etc/aftershock/") && filepath.Dir(a) != c.VolumeMounts[0].MountPath {
			t.Errorf("config path %s is not under the mount %s", a, c.VolumeMounts[0].MountPath)
		}
	}
}

func TestNATSManifests(t *testing.T) {
	cm, sts := natsManifest(t)
	checkPod(t, sts.Name, sts.Spec.Template.Labels, sts.Spec.Selector.MatchLabels, sts.Spec.Template.Spec)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Errorf("NATS runs %v nodes, want 3 (R3 streams)", sts.Spec.Replicas)
	}
	opts, _ := natsOptions(t, cm, sts)
	if !opts.JetStream || opts.Cluster.Name == "" || len(opts.Routes) != 3 || opts.ServerName != "nats-0" {
		t.Errorf("nats.conf: jetstream %v, cluster %q, %d routes, server name %q; want JetStream on a named 3-node cluster", opts.JetStream, opts.Cluster.Name, len(opts.Routes), opts.ServerName)
	}
}
