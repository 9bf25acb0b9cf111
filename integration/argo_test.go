package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/analysis"
	"github.com/argoproj/argo-rollouts/controller/metrics"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	argofake "github.com/argoproj/argo-rollouts/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-rollouts/pkg/client/informers/externalversions"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	"github.com/argoproj/argo-rollouts/utils/queue"
	"github.com/argoproj/argo-rollouts/utils/record"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/yaml"
)

const namespace = "prod"

func init() { log.SetLevel(log.PanicLevel) }

// docTemplate is docs/gate.md's AnalysisTemplate, pointed at the daemon.
func docTemplate(t *testing.T, d *daemon) *v1alpha1.AnalysisTemplate {
	t.Helper()
	blocks := docBlocks(t, "kind: AnalysisTemplate", d.addr)
	if len(blocks) != 1 {
		t.Fatalf("docs/gate.md has %d AnalysisTemplates, want 1", len(blocks))
	}
	var tmpl v1alpha1.AnalysisTemplate
	if err := yaml.UnmarshalStrict([]byte(blocks[0]), &tmpl); err != nil {
		t.Fatalf("docs/gate.md AnalysisTemplate: %v", err)
	}
	tmpl.Namespace = namespace
	return &tmpl
}

// args are what the documented Rollout step passes.
func args(release, ring string) []v1alpha1.Argument {
	return []v1alpha1.Argument{{Name: "release", Value: &release}, {Name: "ring", Value: &ring}}
}

// TestArgoTemplateIsValid: Argo's own validation accepts the documented
// template, and its limits are the ones the docs explain.
func TestArgoTemplateIsValid(t *testing.T) {
	d := start(t)
	tmpl := docTemplate(t, d)
	if err := analysisutil.ValidateMetrics(tmpl.Spec.Metrics); err != nil {
		t.Fatalf("Argo refuses the documented template: %v", err)
	}
	m := tmpl.Spec.Metrics[0]
	if m.ConsecutiveSuccessLimit == nil || m.ConsecutiveSuccessLimit.IntValue() < 1 || m.FailureLimit == nil || m.FailureLimit.IntValue() != 0 {
		t.Errorf("template must set consecutiveSuccessLimit ≥ 1 and failureLimit 0: %+v", m)
	}
}

// TestArgoWebMetric runs one measurement with Argo's web metric provider
// (which evaluates the conditions with utils/evaluate) for each answer.
func TestArgoWebMetric(t *testing.T) {
	d := start(t)
	tmpl := docTemplate(t, d)
	token := readToken
	for _, tc := range []struct {
		release string
		want    v1alpha1.AnalysisPhase
		value   string
	}{
		{relProceed, v1alpha1.AnalysisPhaseSuccessful, `"decision":"proceed"`},
		{relHalt, v1alpha1.AnalysisPhaseFailed, `"decision":"halt"`},
		{relWait, v1alpha1.AnalysisPhaseInconclusive, `"decision":"wait"`},
		{relReview, v1alpha1.AnalysisPhaseInconclusive, `"decision":"review_required"`},
		{relUnknown, v1alpha1.AnalysisPhaseInconclusive, `release not found: shop-9.9.9`},
	} {
		t.Run(tc.release, func(t *testing.T) {
			a := append(args(tc.release, "H2"), v1alpha1.Argument{Name: "aftershock-token", Value: &token})
			metric, err := analysisutil.ResolveMetricArgs(tmpl.Spec.Metrics[0], a)
			if err != nil {
				t.Fatal(err)
			}
			hc, err := webmetric.NewWebMetricHttpClient(*metric)
			if err != nil {
				t.Fatal(err)
			}
			jp, err := webmetric.NewWebMetricJsonParser(*metric)
			if err != nil {
				t.Fatal(err)
			}
			p := webmetric.NewWebMetricProvider(*log.NewEntry(log.StandardLogger()), hc, jp)
			m := p.Run(&v1alpha1.AnalysisRun{}, *metric)
			if m.Phase != tc.want || !strings.Contains(m.Value, tc.value) {
				t.Fatalf("measurement %s %q (%s), want %s with %s", m.Phase, m.Value, m.Message, tc.want, tc.value)
			}
		})
	}
	t.Run("wrong token is an Error", func(t *testing.T) {
		bad := "not-a-token-0123456789"
		metric, err := analysisutil.ResolveMetricArgs(tmpl.Spec.Metrics[0], append(args(relProceed, "H2"), v1alpha1.Argument{Name: "aftershock-token", Value: &bad}))
		if err != nil {
			t.Fatal(err)
		}
		hc, _ := webmetric.NewWebMetricHttpClient(*metric)
		jp, _ := webmetric.NewWebMetricJsonParser(*metric)
		if m := webmetric.NewWebMetricProvider(*log.NewEntry(log.StandardLogger()), hc, jp).Run(&v1alpha1.AnalysisRun{}, *metric); m.Phase != v1alpha1.AnalysisPhaseError {
			t.Fatalf("measurement %s, want Error", m.Phase)
		}
	})
}

// argoController is Argo Rollouts' analysis controller on fake clientsets,
// with the real metric provider factory (so the web provider calls the
// daemon) and the secret the template's token comes from.
type argoController struct {
	argo  *argofake.Clientset
	queue workqueue.RateLimitingInterface
}

var (
	argoOnce sync.Once
	argoCtl  *argoController
)

func startArgo(t *testing.T) *argoController {
	t.Helper()
	argoOnce.Do(func() {
		kube := k8sfake.NewSimpleClientset(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "aftershock", Namespace: namespace},
			Data:       map[string][]byte{"read-token": []byte(readToken)},
		})
		argo := argofake.NewSimpleClientset()
		ai := argoinformers.NewSharedInformerFactory(argo, 0)
		ki := kubeinformers.NewSharedInformerFactory(kube, 0)
		q := workqueue.NewNamedRateLimitingQueue(queue.DefaultArgoRolloutsRateLimiter(), "AnalysisRuns")
		c := analysis.NewController(analysis.ControllerConfig{
			KubeClientSet:        kube,
			ArgoProjClientset:    argo,
			AnalysisRunInformer:  ai.Argoproj().V1alpha1().AnalysisRuns(),
			JobInformer:          ki.Batch().V1().Jobs(),
			ResyncPeriod:         0,
			AnalysisRunWorkQueue: q,
			MetricsServer:        metrics.NewMetricsServer(metrics.ServerConfig{Addr: "127.0.0.1:0", K8SRequestProvider: &metrics.K8sRequestsCountProvider{}}),
			Recorder:             record.NewFakeEventRecorder(),
		})
		ctx := context.Background() // lives as long as the test binary
		ai.Start(ctx.Done())
		ki.Start(ctx.Done())
		cache.WaitForCacheSync(ctx.Done(), ai.Argoproj().V1alpha1().AnalysisRuns().Informer().HasSynced, ki.Batch().V1().Jobs().Informer().HasSynced)
		go func() { _ = c.Run(ctx, 4) }()
		argoCtl = &argoController{argo: argo, queue: q}
	})
	return argoCtl
}

// run creates an AnalysisRun from the documented template as a Rollout's
// analysis step does, with the interval scaled down, and returns it when
// it has completed.
func (c *argoController) run(t *testing.T, tmpl *v1alpha1.AnalysisTemplate, name, release string, interval string) *v1alpha1.AnalysisRun {
	t.Helper()
	tmpl.Spec.Metrics[0].Interval = v1alpha1.DurationString(interval)
	ar, err := analysisutil.NewAnalysisRunFromTemplates([]*v1alpha1.AnalysisTemplate{tmpl}, nil, args(release, "H2"), nil, nil, nil, nil, name, "", namespace)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.argo.ArgoprojV1alpha1().AnalysisRuns(namespace).Create(ctx, ar, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := c.argo.ArgoprojV1alpha1().AnalysisRuns(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase.Completed() {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis run %s still %s: %+v", name, got.Status.Phase, got.Status.MetricResults)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestArgoAnalysisRun runs the documented template through Argo's
// analysis controller (measurements, conditions, limits, assessment) for
// each answer, including one proceed followed by reviews, which must not
// end Successful.
func TestArgoAnalysisRun(t *testing.T) {
	d := start(t)
	c := startArgo(t)
	const interval = "100ms" // the docs' 1m, scaled; count and limits as documented

	// A release of its own whose answer changes from proceed to
	// review_required after the first measurement: Argo reaches it through
	// a proxy that, before forwarding the second measurement, publishes the
	// review verdict and waits until the gate answers it.
	mixed := "shop-4.6.0"
	ctx := context.Background()
	cl := newClient(d)
	if _, err := cl.Start(ctx, startReq(mixed)); err != nil {
		t.Fatal(err)
	}
	if err := d.publish(ctx, verdict(mixed, "H2", 92, "pass", "none", "all 7 signals within baseline")); err != nil {
		t.Fatal(err)
	}
	waitDecision(t, d, mixed, "H2", "proceed")
	target, _ := url.Parse("http://" + d.addr)
	fwd := httputil.NewSingleHostReverseProxy(target)
	var served atomic.Int32
	var switchOnce sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) >= 2 {
			switchOnce.Do(func() {
				if err := d.publish(ctx, verdict(mixed, "H2", 81, "marginal", "review_required", "team budget used up")); err != nil {
					t.Error(err)
				}
				waitDecision(t, d, mixed, "H2", "review_required")
			})
		}
		fwd.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close) // the parallel subtests run after this function returns
	viaProxy := &daemon{addr: strings.TrimPrefix(proxy.URL, "http://")}

	for _, tc := range []struct {
		name, release string
		interval      string
		want          v1alpha1.AnalysisPhase
		measurements  func(n int) bool // how many measurements the run may take
		via           *daemon
	}{
		{"proceed", relProceed, interval, v1alpha1.AnalysisPhaseSuccessful, func(n int) bool { return n == 3 }, d},
		{"halt", relHalt, interval, v1alpha1.AnalysisPhaseFailed, func(n int) bool { return n == 1 }, d},
		{"wait", relWait, interval, v1alpha1.AnalysisPhaseInconclusive, func(n int) bool { return n == 30 }, d},
		{"review_required", relReview, interval, v1alpha1.AnalysisPhaseInconclusive, func(n int) bool { return n == 30 }, d},
		{"unknown release", relUnknown, interval, v1alpha1.AnalysisPhaseInconclusive, func(n int) bool { return n == 30 }, d},
		{"one proceed then review_required", mixed, interval, v1alpha1.AnalysisPhaseInconclusive, func(n int) bool { return n == 30 }, viaProxy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := "aftershock-" + strings.NewReplacer(" ", "-", "_", "-").Replace(tc.name)
			ar := c.run(t, docTemplate(t, tc.via), name, tc.release, tc.interval)
			if ar.Status.Phase != tc.want {
				t.Fatalf("AnalysisRun %s, want %s: %s %+v", ar.Status.Phase, tc.want, ar.Status.Message, ar.Status.MetricResults)
			}
			mr := ar.Status.MetricResults[0]
			if mr.Phase != tc.want || !tc.measurements(int(mr.Count)) {
				t.Errorf("metric %s after %d measurements (successful %d, failed %d, inconclusive %d, errors %d)",
					mr.Phase, mr.Count, mr.Successful, mr.Failed, mr.Inconclusive, mr.Error)
			}
			if tc.want != v1alpha1.AnalysisPhaseSuccessful && mr.ConsecutiveSuccess >= 3 {
				t.Errorf("three proceeds in a row but %s", mr.Phase)
			}
			if tc.via != d && (mr.Successful != 1 || mr.Inconclusive != 29) {
				t.Errorf("mixed run: %d successful, %d inconclusive; the verdict change did not show", mr.Successful, mr.Inconclusive)
			}
		})
	}
}
