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
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

const (
	// release and releaseNamespace are the Helm release the suite installs,
	// as docs/install.md does: into the issuer's own namespace, which is
	// also the cluster resource namespace (the chart's default).
	release          = "vault-intermediate-issuer"
	releaseNamespace = env.ClusterResourceNamespace
	// bankIssuer is the name the shipped example gives the bank's issuer.
	bankIssuer = "vault-intermediate"
	// leaseName is the controller's leader election Lease.
	leaseName = "vault-intermediate-issuer-leader"
)

var (
	stack *env.Env
	// rendered is the chart rendered with its default values for the
	// release, CRDs included, as applied to the API server.
	rendered []*unstructured.Unstructured
	// applyWarnings are the warnings the API server returned while the
	// chart was applied.
	applyWarnings []string
	// deployment is the rendered Deployment.
	deployment *appsv1.Deployment
	// controllerUser is the chart's ServiceAccount as a user name.
	controllerUser string
	// controllers are the two replicas, each run with the Deployment's
	// arguments and acting as the chart's ServiceAccount.
	controllers []*env.Controller
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	var err error
	stack, err = env.Start(ctx, env.Options{AuthorizationMode: "Node,RBAC", NoIssuer: true, AuditSecrets: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e environment:", err)
		return 1
	}
	defer stack.Stop()
	if err := installChart(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "installing the chart:", err)
		return 1
	}
	defer func() {
		for _, c := range controllers {
			_ = c.Stop(10 * time.Second)
		}
	}()
	if err := startControllers(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the controllers:", err)
		return 1
	}
	fmt.Printf("chart e2e environment up in %s (logs in %s)\n", time.Since(start).Round(time.Millisecond), stack.Artifacts)
	if _, err := stack.ApplyBankIssuer(ctx, bankIssuer, nil); err != nil {
		fmt.Fprintln(os.Stderr, "applying the bank issuer:", err)
		return 1
	}
	if cond, err := stack.WaitForIssuerCondition(ctx, bankIssuer, metav1.ConditionTrue, 90*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "the bank issuer did not become Ready under the chart's RBAC: %v (condition: %+v)\n", err, cond)
		return 1
	}
	return m.Run()
}

// installChart makes the release namespace (which the environment created
// for the AppRole Secret) enforce the restricted Pod Security Standard,
// renders the chart with its default values and applies every object.
func installChart(ctx context.Context) error {
	ns := &corev1.Namespace{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: releaseNamespace}, ns); err != nil {
		return fmt.Errorf("reading namespace %s: %w", releaseNamespace, err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    "latest",
	} {
		ns.Labels[k] = v
	}
	if err := stack.Client.Update(ctx, ns); err != nil {
		return fmt.Errorf("labelling namespace %s: %w", releaseNamespace, err)
	}
	out, objs, err := stack.RenderChart(ctx, release, releaseNamespace, "--include-crds")
	if err != nil {
		return err
	}
	if err := os.WriteFile(stack.Artifacts+"/chart-rendered.yaml", out, 0o600); err != nil {
		return fmt.Errorf("saving the rendered chart: %w", err)
	}
	applier, err := stack.NewApplier("e2e-helm-chart")
	if err != nil {
		return err
	}
	if err := applier.Apply(ctx, false, objs...); err != nil {
		return err
	}
	rendered, applyWarnings = objs, applier.Warnings()
	for _, obj := range objs {
		switch obj.GetKind() {
		case "Deployment":
			deployment = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, deployment); err != nil {
				return fmt.Errorf("converting the rendered Deployment: %w", err)
			}
		}
	}
	if deployment == nil {
		return errors.New("the chart rendered no Deployment")
	}
	controllerUser = env.ServiceAccountUser(deployment.Namespace, deployment.Spec.Template.Spec.ServiceAccountName)
	return nil
}

// startControllers runs two replicas with the rendered Deployment's
// arguments, each acting as the chart's ServiceAccount.
func startControllers() error {
	kubeconfig, err := stack.ImpersonatingKubeconfig(controllerUser)
	if err != nil {
		return err
	}
	args := deployment.Spec.Template.Spec.Containers[0].Args
	for i := range 2 {
		c, err := stack.StartController(fmt.Sprintf("vault-intermediate-issuer-%d", i), kubeconfig, args)
		if err != nil {
			return err
		}
		controllers = append(controllers, c)
	}
	return nil
}
