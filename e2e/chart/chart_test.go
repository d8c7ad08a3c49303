/*
Copyright 2026 The vault-intermediate-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package chart

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestChartObjectsAccepted checks that every object the chart renders with
// its default values was accepted and stored by kube-apiserver (TestMain
// applied them with server-side apply and strict field validation), and
// that the API server had no warning about any of them.
func TestChartObjectsAccepted(t *testing.T) {
	ctx := t.Context()
	var kinds []string
	for _, obj := range rendered {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
			t.Errorf("%s %s was not stored: %v", obj.GetKind(), client.ObjectKeyFromObject(obj), err)
		}
		kinds = append(kinds, obj.GetKind())
	}
	slices.Sort(kinds)
	want := []string{
		"ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
		"CustomResourceDefinition", "Deployment", "PodDisruptionBudget",
		"Role", "Role", "RoleBinding", "RoleBinding", "Service", "ServiceAccount",
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("the chart rendered %v, want %v", kinds, want)
	}
	if len(applyWarnings) > 0 {
		t.Errorf("kube-apiserver warned while the chart was applied: %q", applyWarnings)
	}

	// The CRD the chart ships is the one in deploy/crds (make verify keeps
	// the files identical; here the rendered object is compared).
	crds, err := env.LoadYAML(filepath.Join(stack.RepoRoot, "deploy", "crds", "pki.golemtrust.am_vaultintermediateclusterissuers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range rendered {
		if obj.GetKind() == "CustomResourceDefinition" && !equalYAML(t, obj.Object, crds[0].Object) {
			t.Errorf("the chart's CRD differs from deploy/crds")
		}
	}
}

// TestDeploymentShape checks the production properties of the rendered
// Deployment that the rest of the suite does not exercise.
func TestDeploymentShape(t *testing.T) {
	spec := deployment.Spec.Template.Spec
	if got := *deployment.Spec.Replicas; got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	c := spec.Containers[0]
	for _, arg := range []string{"--leader-elect", "--leader-election-namespace=" + releaseNamespace,
		"--cluster-resource-namespace=" + releaseNamespace, "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %q lack %s", c.Args, arg)
		}
	}
	for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != "healthz" {
			t.Errorf("no HTTP probe on healthz%s: %+v", name, probe)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["healthz"] != 8081 || ports["metrics"] != 8080 {
		t.Errorf("container ports %v, want healthz 8081 and metrics 8080", ports)
	}
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		t.Errorf("no pod anti-affinity between the replicas")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v lack a CPU request or a memory limit", c.Resources)
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || *sc.RunAsUser != 65532 ||
		!*sc.RunAsNonRoot || !slices.Contains(sc.Capabilities.Drop, "ALL") || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container security context %+v is not the hardened one", sc)
	}
}

// TestPodSecurityRestricted creates the Deployment's pod in the release
// namespace, which enforces the restricted Pod Security Standard, with a
// server-side dry run: admission must accept it. A copy without the
// security contexts must be rejected, which proves the check is live.
func TestPodSecurityRestricted(t *testing.T) {
	ctx := t.Context()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: releaseNamespace, Name: "pod-security-check",
			Labels: deployment.Spec.Template.Labels},
		Spec: *deployment.Spec.Template.Spec.DeepCopy(),
	}
	if err := stack.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		t.Fatalf("the chart's pod is rejected in a namespace enforcing restricted: %v", err)
	}

	insecure := pod.DeepCopy()
	insecure.Spec.SecurityContext = nil
	insecure.Spec.Containers[0].SecurityContext = nil
	err := stack.Client.Create(ctx, insecure, client.DryRunAll)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("a pod without security contexts was not rejected by Pod Security admission: %v", err)
	}
}

// TestStaticManifestsAccepted applies deploy/manifests (the chart rendered
// with its defaults into vault-intermediate-issuer, and that namespace) with
// a server-side dry run: every object must be admitted.
func TestStaticManifestsAccepted(t *testing.T) {
	objs, err := env.LoadYAML(filepath.Join(stack.RepoRoot, "deploy", "manifests", "vault-intermediate-issuer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 || objs[0].GetKind() != "Namespace" || objs[0].GetName() != env.ClusterResourceNamespace ||
		objs[0].GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("deploy/manifests does not start with the namespace %s enforcing the restricted Pod Security Standard", env.ClusterResourceNamespace)
	} else if len(objs)-1 != len(rendered) {
		t.Errorf("deploy/manifests has %d objects besides its namespace, the chart renders %d", len(objs)-1, len(rendered))
	}
	applier, err := stack.NewApplier("e2e-static-manifests")
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.Apply(t.Context(), true, objs...); err != nil {
		t.Fatal(err)
	}
	if w := applier.Warnings(); len(w) > 0 {
		t.Errorf("kube-apiserver warned about deploy/manifests: %q", w)
	}
}

// TestChartGolden renders the chart with the values of a production install
// (a private registry, three replicas on distinct nodes, a Vault CA bundle
// mounted for the system trust store, approval left to approver-policy,
// Prometheus Operator objects) and compares it with the golden file, which
// leaves out the CRDs (deploy/crds is their reference). -update rewrites it.
func TestChartGolden(t *testing.T) {
	values := filepath.Join("testdata", "values-production.yaml")
	out, objs, err := stack.RenderChart(t.Context(), "pki", "pki-system", "--values", values)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "production.golden")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(out) {
		t.Errorf("the rendered chart differs from %s; run go test ./chart -run TestChartGolden -update and review the diff", golden)
	}

	// The PrometheusRule carries the chart's alerts file as it is.
	alerts, err := os.ReadFile(filepath.Join(stack.RepoRoot, env.ChartDir, "files", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wantSpec map[string]any
	if err := yaml.Unmarshal(alerts, &wantSpec); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, obj := range objs {
		kinds = append(kinds, obj.GetKind())
		if obj.GetKind() == "PrometheusRule" && !equalYAML(t, obj.Object["spec"], wantSpec) {
			t.Errorf("the PrometheusRule's spec is not files/alerts.yaml")
		}
		if obj.GetKind() == "ClusterRole" && strings.HasSuffix(obj.GetName(), ":approver") {
			t.Errorf("approveSignerForCertManager=false still renders %s", obj.GetName())
		}
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if !slices.Contains(kinds, kind) {
			t.Errorf("no %s rendered with it enabled", kind)
		}
	}
}

// TestChartRejectsBadValues checks the chart's values schema: a misspelt
// key or an impossible value fails the render instead of being ignored.
func TestChartRejectsBadValues(t *testing.T) {
	cases := []struct{ set, want string }{
		{"replicaCout=3", "additional properties 'replicaCout' not allowed"},
		{"podAntiAffinity=sometimes", "value must be one of 'soft', 'hard', 'none'"},
		{"maxRetryDuration=10min", "does not match pattern"},
		{"clusterResourceNamespace=Cert_Manager", "does not match pattern"},
		{"secretNames[0]=Vault_AppRole", "does not match pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.set, func(t *testing.T) {
			_, _, err := stack.RenderChart(t.Context(), release, releaseNamespace, "--set", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template --set %s: got %v, want an error containing %q", tc.set, err, tc.want)
			}
		})
	}
}

// equalYAML compares two decoded documents by their canonical YAML.
func equalYAML(t *testing.T, a, b any) bool {
	t.Helper()
	ya, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ya) == string(yb)
}
