package kubernetes

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/aftershock/aftershock/internal/bus/bustest"
	"github.com/aftershock/aftershock/internal/config"
)

// secretRef is one key of a Kubernetes Secret that a manifest uses.
type secretRef struct{ name, key string }

// secretValues gives each Secret key the value the tests use, in the shape
// the command in docs/operations.md makes: for `openssl rand -hex` the
// rare hex it may print that is all digits (nats-server's parser takes
// that for a number unless it is quoted), otherwise what
// `openssl rand -base64 32` prints.
func secretValues(t *testing.T) func(secretRef) string {
	t.Helper()
	docs := documentedSecrets(t)
	return func(r secretRef) string {
		if strings.Contains(docs[r], "-hex") {
			h := fnv.New64a()
			h.Write([]byte(r.name + "/" + r.key))
			return fmt.Sprintf("1234567890%020d", h.Sum64())
		}
		return "Zq8+Xw3/Lk0Rr7uV2yBn5Tc1Hs9Dm4Ef6G" + strings.ToUpper(r.name+r.key) + "="
	}
}

// natsManifest is nats.yaml's ConfigMap and StatefulSet.
func natsManifest(t *testing.T) (*corev1.ConfigMap, *appsv1.StatefulSet) {
	t.Helper()
	docs := documents(t, "nats.yaml")
	cm, sts := first[corev1.ConfigMap](docs), first[appsv1.StatefulSet](docs)
	if cm == nil || sts == nil {
		t.Fatal("nats.yaml needs a ConfigMap and a StatefulSet")
	}
	return cm, sts
}

// podEnv is the environment Kubernetes gives the container of the pod with
// ordinal pod of sts, in order: a Secret's key gets secret's value, the pod
// name comes from the downward API, and $(VAR) in a value is replaced by
// an earlier variable (Kubernetes' dependent environment variables). refs
// names the Secret key behind each variable taken from one.
func podEnv(t *testing.T, sts *appsv1.StatefulSet, pod int, secret func(secretRef) string) (env [][2]string, refs map[string]secretRef) {
	t.Helper()
	refs = map[string]secretRef{}
	vals := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		var v string
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			r := secretRef{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
			refs[e.Name] = r
			v = secret(r)
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			v = fmt.Sprintf("%s-%d", sts.Name, pod)
		case e.ValueFrom == nil:
			v = expandEnv(e.Value, vals)
		default:
			t.Fatalf("nats env %s: unexpected source %+v", e.Name, e.ValueFrom)
		}
		vals[e.Name] = v
		env = append(env, [2]string{e.Name, v})
	}
	return env, refs
}

// expandEnv replaces $(NAME) in s by NAME's value in env, and $$ by $,
// leaving a reference to an unknown name as it is: what Kubernetes does to
// an environment variable's value (k8s.io/kubernetes
// third_party/forked/golang/expansion).
func expandEnv(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i+1] == '(' {
			if j := strings.IndexByte(s[i+2:], ')'); j >= 0 {
				if v, ok := env[s[i+2:i+2+j]]; ok {
					b.WriteString(v)
					i += j + 2
					continue
				}
			}
		}
		b.WriteByte('$')
	}
	return b.String()
}

// natsOptions parses nats.yaml's nats.conf for the first pod; see
// natsPodOptions.
func natsOptions(t *testing.T, cm *corev1.ConfigMap, sts *appsv1.StatefulSet) (*server.Options, map[string]secretRef) {
	t.Helper()
	return natsPodOptions(t, cm, sts, 0, secretValues(t))
}

// natsPodOptions parses nats.yaml's nats.conf with nats-server's own
// parser, in the environment the StatefulSet's container gets in the pod
// with ordinal pod (podEnv): a variable the config names but the pod does
// not set is an error. It returns the options and the Secret keys behind
// the environment variables.
func natsPodOptions(t *testing.T, cm *corev1.ConfigMap, sts *appsv1.StatefulSet, pod int, secret func(secretRef) string) (*server.Options, map[string]secretRef) {
	t.Helper()
	env, refs := podEnv(t, sts, pod, secret)
	for _, kv := range env {
		t.Setenv(kv[0], kv[1])
	}
	file := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(file, []byte(cm.Data["nats.conf"]), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	return opts, refs
}

// natsLogin is the login nats.conf requires, or fails the test if it
// requires none.
func natsLogin(t *testing.T, opts *server.Options, refs map[string]secretRef) (user string, pw secretRef) {
	t.Helper()
	secret := secretValues(t)
	if opts.Username == "" || opts.Password == "" {
		t.Fatalf("nats.conf has no authorization { user, password }: anyone reaching port 4222 can publish a pass verdict (users %d, token %v, nkeys %d)",
			len(opts.Users), opts.Authorization != "", len(opts.Nkeys))
	}
	for _, r := range refs {
		if opts.Password == secret(r) {
			return opts.Username, r
		}
	}
	t.Fatalf("nats.conf's password is not taken from a Secret (env with secretKeyRef), so it is written in the manifest")
	return "", secretRef{}
}

// mountedSecretFile is the Secret key a container sees at path, or fails.
func mountedSecretFile(t *testing.T, spec corev1.PodSpec, c corev1.Container, path string) secretRef {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if it.Path == rel {
					return secretRef{v.Secret.SecretName, it.Key}
				}
			}
			if len(v.Secret.Items) == 0 {
				return secretRef{v.Secret.SecretName, rel}
			}
		}
	}
	t.Fatalf("%s is not a file of a mounted Secret (mounts %+v)", path, c.VolumeMounts)
	return secretRef{}
}

// documentedSecrets are the Secrets and keys docs/operations.md tells the
// operator to create (`kubectl create secret generic NAME --from-literal=KEY=…`),
// each with the value the command gives it ("$(openssl rand -hex 32)").
func documentedSecrets(t *testing.T) map[secretRef]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	out := map[secretRef]string{}
	for _, cmd := range regexp.MustCompile(`kubectl create secret generic ([a-z0-9-]+)([^\n]*)`).FindAllStringSubmatch(text, -1) {
		for _, k := range regexp.MustCompile(`--from-(?:literal|file)=([A-Za-z0-9._-]+)=("[^"]*"|\S*)`).FindAllStringSubmatch(cmd[2], -1) {
			out[secretRef{cmd[1], k[1]}] = k[2]
		}
	}
	return out
}

// TestNATSLogin checks that the reference manifests log in: nats.conf
// requires a user and a password from a Secret, Aftershock's configuration
// logs in as that user with that Secret's key mounted as its password file,
// every Secret key the manifests use is one the documentation creates, the
// NetworkPolicy lets Aftershock's pods (and only them) reach the client port,
// and a real nats-server with this configuration refuses a client without
// the login while Aftershock's bus, configured as in the ConfigMap, connects.
func TestNATSLogin(t *testing.T) {
	var natsCM, asCM *corev1.ConfigMap
	var sts *appsv1.StatefulSet
	var dep *appsv1.Deployment
	var policies []*networkingv1.NetworkPolicy
	for _, f := range []string{"nats.yaml", "aftershock.yaml"} {
		for _, o := range documents(t, f) {
			switch o := o.(type) {
			case *corev1.ConfigMap:
				if f == "nats.yaml" {
					natsCM = o
				} else {
					asCM = o
				}
			case *appsv1.StatefulSet:
				sts = o
			case *appsv1.Deployment:
				dep = o
			case *networkingv1.NetworkPolicy:
				policies = append(policies, o)
			}
		}
	}
	if natsCM == nil || asCM == nil || sts == nil || dep == nil {
		t.Fatal("the manifests need both ConfigMaps, the StatefulSet and the Deployment")
	}
	opts, natsRefs := natsOptions(t, natsCM, sts)
	user, pwRef := natsLogin(t, opts, natsRefs)

	c := dep.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	used := map[secretRef]bool{}
	for _, e := range c.Env {
		env[e.Name] = "value-of-" + strings.ToLower(e.Name) + "-0123456789"
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			used[secretRef{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}] = true
		}
	}
	cfg, err := config.Parse([]byte(asCM.Data["aftershock.yaml"]), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the ConfigMap's aftershock.yaml: %v", err)
	}
	if cfg.NATS.User == "" || cfg.NATS.PasswordFile == "" {
		t.Fatalf("aftershock.yaml connects to NATS without a login (nats.user %q, nats.password_file %q)", cfg.NATS.User, cfg.NATS.PasswordFile)
	}
	if cfg.NATS.User != user {
		t.Errorf("aftershock.yaml logs in as %q, nats.conf requires %q", cfg.NATS.User, user)
	}
	fileRef := mountedSecretFile(t, dep.Spec.Template.Spec, c, cfg.NATS.PasswordFile)
	if fileRef != pwRef {
		t.Errorf("Aftershock's nats.password_file is Secret %s key %s, NATS's password Secret %s key %s", fileRef.name, fileRef.key, pwRef.name, pwRef.key)
	}
	used[fileRef] = true
	for _, r := range natsRefs {
		used[r] = true
	}
	docs := documentedSecrets(t)
	for r := range used {
		if _, ok := docs[r]; !ok {
			t.Errorf("Secret %s key %s is used by the manifests but docs/operations.md does not create it (kubectl create secret generic %s --from-literal=%s=…)", r.name, r.key, r.name, r.key)
		}
	}

	// The NetworkPolicy: Aftershock's pods reach 4222, other pods do not.
	reaches := func(podLabels map[string]string, port int32) bool {
		for _, p := range policies {
			sel := labels.SelectorFromSet(p.Spec.PodSelector.MatchLabels)
			if !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
				continue
			}
			for _, in := range p.Spec.Ingress {
				portOK := len(in.Ports) == 0 || slices.ContainsFunc(in.Ports, func(pp networkingv1.NetworkPolicyPort) bool { return pp.Port != nil && pp.Port.IntVal == port })
				fromOK := len(in.From) == 0 || slices.ContainsFunc(in.From, func(pe networkingv1.NetworkPolicyPeer) bool {
					return pe.PodSelector != nil && pe.NamespaceSelector == nil && labels.SelectorFromSet(pe.PodSelector.MatchLabels).Matches(labels.Set(podLabels))
				})
				if portOK && fromOK {
					return true
				}
			}
			return false
		}
		return true // no policy selects the NATS pods
	}
	if len(policies) == 0 {
		t.Error("no NetworkPolicy limits who reaches NATS")
	}
	if !reaches(dep.Spec.Template.Labels, 4222) {
		t.Errorf("the NetworkPolicy keeps Aftershock's pods %v from NATS's client port", dep.Spec.Template.Labels)
	}
	if !reaches(sts.Spec.Template.Labels, 6222) {
		t.Errorf("the NetworkPolicy keeps NATS's pods from their route port 6222")
	}
	if stranger := map[string]string{"app": "stranger"}; reaches(stranger, 4222) || reaches(stranger, 6222) {
		t.Errorf("the NetworkPolicy lets any pod reach NATS's client or route port")
	}

	// A real nats-server with this configuration (one node, loopback).
	bustest.LoginRequired(t, opts, cfg.NATS, secretValues(t)(fileRef))
}
