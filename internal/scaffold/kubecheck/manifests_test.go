package kubecheck

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/cloister-go/cloister/internal/scaffold"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// manifests is the decoded k8s/<app>.yaml.
type manifests struct {
	svc corev1.Service
	dep appsv1.Deployment
	pdb policyv1.PodDisruptionBudget
}

// decode splits the YAML stream and decodes each document strictly into the
// API type its apiVersion and kind name.
func decode(t *testing.T, data []byte) manifests {
	t.Helper()
	var m manifests
	seen := map[string]bool{}
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Service":
			into = &m.svc
		case "apps/v1 Deployment":
			into = &m.dep
		case "policy/v1 PodDisruptionBudget":
			into = &m.pdb
		default:
			t.Fatalf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if seen[tm.Kind] {
			t.Fatalf("two %s documents", tm.Kind)
		}
		seen[tm.Kind] = true
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s: strict decoding: %v\n%s", tm.Kind, err, doc)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("want a Service, a Deployment and a PodDisruptionBudget, got %v", seen)
	}
	return m
}

func dnsLabel(t *testing.T, what, name string) {
	t.Helper()
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		t.Errorf("%s %q: %v", what, name, errs)
	}
}

func selects(t *testing.T, what string, sel *metav1.LabelSelector, pod map[string]string) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("%s selector: %v", what, err)
	}
	if s.Empty() || !s.Matches(labels.Set(pod)) {
		t.Errorf("%s selector %v does not select the pods %v", what, s, pod)
	}
}

// check verifies what the README and the library promise of the manifests
// for p.
func check(t *testing.T, p scaffold.Params, m manifests) {
	t.Helper()
	svc, dep, pdb := m.svc, m.dep, m.pdb
	for what, name := range map[string]string{"Service": svc.Name, "Deployment": dep.Name, "PodDisruptionBudget": pdb.Name} {
		dnsLabel(t, what, name)
	}
	pod := dep.Spec.Template.Labels

	// The headless Service that is the sentry.
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service: clusterIP %q, publishNotReadyAddresses %v: want a headless Service that lists pods before they are Ready",
			svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
	}
	selects(t, "Service", &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, pod)
	protos := map[corev1.Protocol]bool{}
	for _, port := range svc.Spec.Ports {
		if int(port.Port) == p.GossipPort {
			protos[port.Protocol] = true
		}
		dnsLabel(t, "Service port name", port.Name)
	}
	if !protos[corev1.ProtocolUDP] || !protos[corev1.ProtocolTCP] {
		t.Errorf("Service ports %v: want %d over UDP and TCP", svc.Spec.Ports, p.GossipPort)
	}

	// The Deployment.
	if dep.Spec.Replicas == nil || int(*dep.Spec.Replicas) != p.Replicas {
		t.Errorf("Deployment replicas %v, want %d", dep.Spec.Replicas, p.Replicas)
	}
	selects(t, "Deployment", dep.Spec.Selector, pod)
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	dnsLabel(t, "container", c.Name)
	if c.Image != p.Image || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("container image %q pull %q, want %q IfNotPresent", c.Image, c.ImagePullPolicy, p.Image)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s comes from %v: the secret is a file", e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}
	if env["CLOISTER_APP"] != p.App || env["CLOISTER_SENTRY"] != svc.Name ||
		env["CLOISTER_CONSENSUS"] != strconv.Itoa(p.Majority()) || env["CLOISTER_HTTP"] != fmt.Sprintf(":%d", p.Port) {
		t.Errorf("env %v: want app %s, the headless Service %s as sentry, consensus %d, http :%d", env, p.App, svc.Name, p.Majority(), p.Port)
	}
	if p.GossipPort != 4747 && env["CLOISTER_BIND"] != fmt.Sprintf(":%d", p.GossipPort) {
		t.Errorf("env CLOISTER_BIND %q, want :%d", env["CLOISTER_BIND"], p.GossipPort)
	}
	if _, ok := env["CLOISTER_SECRET"]; ok {
		t.Error("env sets CLOISTER_SECRET in the manifest")
	}
	// The secret file is in a volume of the Secret that the header's
	// kubectl command makes.
	secretFile := env["CLOISTER_SECRET_FILE"]
	var mounted bool
	for _, vm := range c.VolumeMounts {
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil && v.Secret.SecretName == p.App+"-cloister" &&
				secretFile == path.Join(vm.MountPath, "secret") && vm.ReadOnly {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("CLOISTER_SECRET_FILE %q is not the key \"secret\" of a read-only volume of the Secret %s-cloister", secretFile, p.App)
	}
	ports := map[string]int32{}
	for _, port := range c.Ports {
		if port.Name != "" {
			ports[port.Name] = port.ContainerPort
		}
	}
	for name, probe := range map[string]*corev1.Probe{"/readyz": c.ReadinessProbe, "/healthz": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("no HTTP probe on %s", name)
			continue
		}
		port := probe.HTTPGet.Port
		if port.Type == intstr.String {
			port = intstr.FromInt32(ports[port.StrVal])
		}
		if probe.HTTPGet.Path != name || port.IntValue() != p.Port {
			t.Errorf("probe %s:%v, want %s on %d", probe.HTTPGet.Path, probe.HTTPGet.Port, name, p.Port)
		}
	}

	// The PodDisruptionBudget keeps a majority.
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.Type != intstr.Int || pdb.Spec.MinAvailable.IntValue() != p.Replicas/2+1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget minAvailable %v, maxUnavailable %v: want minAvailable %d (a majority of %d)",
			pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable, p.Replicas/2+1, p.Replicas)
	}
	selects(t, "PodDisruptionBudget", pdb.Spec.Selector, pod)
}

// templatesHeader is the kubectl command the manifests' header gives.
func templatesHeader(w *bytes.Buffer, p scaffold.Params) error {
	_, err := fmt.Fprintf(w, "kubectl create secret generic %s-cloister --from-file=secret=%s", p.App, scaffold.SecretFile)
	return err
}

func render(t *testing.T, p scaffold.Params) map[string][]byte {
	t.Helper()
	files, err := scaffold.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	base := scaffold.Params{Module: "github.com/acme/shop", GoVersion: "1.26", App: "shop", Main: ".",
		Port: 8080, GossipPort: 4747, Replicas: 3, Image: "shop:latest"}
	variants := map[string]func(*scaffold.Params){
		"defaults":    func(*scaffold.Params) {},
		"5 replicas":  func(p *scaffold.Params) { p.Replicas = 5 },
		"1 replica":   func(p *scaffold.Params) { p.Replicas = 1 },
		"other ports": func(p *scaffold.Params) { p.Port, p.GossipPort = 9000, 7946 },
		"long name":   func(p *scaffold.Params) { p.App = strings.Repeat("a", 54); p.Image = "registry.example/x/y:1.2" },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			p := base
			change(&p)
			files := render(t, p)
			data := files[scaffold.KubernetesFile(p.App)]
			check(t, p, decode(t, data))
			var hdr bytes.Buffer
			_ = templatesHeader(&hdr, p)
			if !bytes.Contains(data, hdr.Bytes()) {
				t.Errorf("the header does not say %q", hdr.String())
			}
			checkCompose(t, p, files[scaffold.Compose])
		})
	}
}

// The strict decoder fails on what a typo would produce: the check is not
// vacuous.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	files := render(t, scaffold.Params{Module: "m", GoVersion: "1.26", App: "shop", Main: ".", Port: 8080, GossipPort: 4747, Replicas: 3, Image: "shop:latest"})
	data := files[scaffold.KubernetesFile("shop")]
	for _, mistake := range []struct{ from, to string }{
		{"publishNotReadyAddresses: true", "publishNotReadyAdresses: true"},
		{"imagePullPolicy: IfNotPresent", "imagePullPolicy: [IfNotPresent]"},
		{"minAvailable: 2", "minAvailable: {two: 2}"},
	} {
		bad := bytes.Replace(data, []byte(mistake.from), []byte(mistake.to), 1)
		if bytes.Equal(bad, data) {
			t.Fatalf("%q not in the manifests", mistake.from)
		}
		for i, doc := range bytes.Split(bad, []byte("\n---\n")) {
			if !bytes.Contains(doc, []byte(mistake.to)) {
				continue
			}
			into := []any{&corev1.Service{}, &appsv1.Deployment{}, &policyv1.PodDisruptionBudget{}}[i]
			if err := yaml.UnmarshalStrict(doc, into); err == nil {
				t.Errorf("%q decoded without error", mistake.to)
			}
		}
	}
}

// compose is the part of the compose specification that cloister init
// writes; decoding strictly into it catches a misspelt key.
type compose struct {
	Services map[string]struct {
		Build  string `json:"build"`
		Image  string `json:"image"`
		Deploy struct {
			Replicas int `json:"replicas"`
		} `json:"deploy"`
		Environment map[string]string `json:"environment"`
		Secrets     []string          `json:"secrets"`
		Expose      []string          `json:"expose"`
	} `json:"services"`
	Secrets map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
}

func checkCompose(t *testing.T, p scaffold.Params, data []byte) {
	t.Helper()
	var c compose
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v\n%s", err, data)
	}
	svc, ok := c.Services[p.App]
	if !ok || len(c.Services) != 1 {
		t.Fatalf("compose services %v, want only %s", c.Services, p.App)
	}
	env := svc.Environment
	if env["CLOISTER_SENTRY"] != p.App || env["CLOISTER_APP"] != p.App || env["CLOISTER_CONSENSUS"] != strconv.Itoa(p.Majority()) ||
		env["CLOISTER_SECRET_FILE"] != "/run/secrets/cloister" || env["CLOISTER_HTTP"] != fmt.Sprintf(":%d", p.Port) {
		t.Errorf("compose environment %v", env)
	}
	if svc.Deploy.Replicas != p.Replicas || svc.Image != p.Image || svc.Build != "." {
		t.Errorf("compose replicas %d image %q build %q", svc.Deploy.Replicas, svc.Image, svc.Build)
	}
	if len(svc.Secrets) != 1 || svc.Secrets[0] != "cloister" || c.Secrets["cloister"].File != "./"+scaffold.SecretFile {
		t.Errorf("compose secrets %v, %v", svc.Secrets, c.Secrets)
	}
}

// The README's compose and Kubernetes examples are what cloister init
// writes for github.com/acme/shop (internal/scaffold's test holds them equal
// to the rendered files); here they also decode strictly and pass the checks.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	p := scaffold.READMEParams
	k8s := scaffold.READMEBlock(string(readme), "## Kubernetes")
	if k8s == "" {
		t.Fatal("no yaml block in the README's Kubernetes section")
	}
	check(t, p, decode(t, []byte(k8s)))
	c := scaffold.READMEBlock(string(readme), "## Docker compose")
	if c == "" {
		t.Fatal("no yaml block in the README's Docker compose section")
	}
	checkCompose(t, p, []byte(c))
}
