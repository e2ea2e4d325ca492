package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// TestDeployManifestsAreStrictlyValid decodes every object under
// deploy/operator into its Go type with unknown fields rejected (a typo
// in a field name fails here, not silently in a cluster), then has the
// API server validate it with a server-side dry run, CEL rules included.
func TestDeployManifestsAreStrictlyValid(t *testing.T) {
	root := filepath.Join("..", "..", "deploy", "operator")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != "kustomization.yaml" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			obj, err := newObject(tm.Kind)
			if err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s #%d (%s): %v", f, i, tm.Kind, err)
				continue
			}
			kinds[tm.Kind]++
			if tm.Kind == "CustomResourceDefinition" {
				continue // installed by the test environment already
			}
			if obj.GetNamespace() == "" && tm.Kind == "ModelService" {
				obj.SetNamespace("default")
			}
			opts := []client.CreateOption{client.DryRunAll}
			if tm.Kind == "Namespace" {
				opts = nil // really, so that the objects in it can be dry-run
			}
			if err := k8s.Create(context.Background(), obj, opts...); err != nil {
				t.Errorf("%s #%d (%s %s): the API server refuses it: %v", f, i, tm.Kind, obj.GetName(), err)
			}
		}
	}
	for _, k := range []string{"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace", "ServiceAccount", "Deployment", "ModelService"} {
		if kinds[k] == 0 {
			t.Errorf("no %s under %s (found %v)", k, root, kinds)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func newObject(kind string) (client.Object, error) {
	switch kind {
	case "CustomResourceDefinition":
		return &apiextensionsv1.CustomResourceDefinition{}, nil
	case "ClusterRole":
		return &rbacv1.ClusterRole{}, nil
	case "ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, nil
	case "Role":
		return &rbacv1.Role{}, nil
	case "RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "Namespace":
		return &corev1.Namespace{}, nil
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "Deployment":
		return &appsv1.Deployment{}, nil
	case "ModelService":
		return &v1alpha1.ModelService{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %q: teach newObject its Go type", kind)
}
