// Package v1alpha1 holds the ModelService API: serving.swapwire.dev/v1alpha1.
//
// +kubebuilder:object:generate=true
// +groupName=serving.swapwire.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of ModelService.
	GroupVersion = schema.GroupVersion{Group: "serving.swapwire.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
