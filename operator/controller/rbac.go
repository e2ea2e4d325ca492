package controller

// The permissions of the operator, generated into deploy/operator/rbac by
// controller-gen: only what the reconciler reads and writes.

// +kubebuilder:rbac:groups=serving.swapwire.dev,resources=modelservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=serving.swapwire.dev,resources=modelservices/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=serving.swapwire.dev,resources=modelservices/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
