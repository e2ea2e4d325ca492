package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceLevel is Rekcurd's service level. It labels every object and
// drives scheduling: pods of different levels never share a node.
// +kubebuilder:validation:Enum=development;staging;production
type ServiceLevel string

// The service levels.
const (
	Development ServiceLevel = "development"
	Staging     ServiceLevel = "staging"
	Production  ServiceLevel = "production"
)

// ModelServiceSpec is the fleet a user asks for.
// +kubebuilder:validation:XValidation:rule="!has(self.autoscaling) || !has(self.replicas)",message="give replicas or autoscaling, not both"
type ModelServiceSpec struct {
	// ServiceLevel is development, staging or production. Production gets a
	// PodDisruptionBudget.
	ServiceLevel ServiceLevel `json:"serviceLevel"`

	// Image holds the swapwire binary (and the worker's runtime when the
	// worker runs in the same container).
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`

	// ImagePullPolicy of every container.
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// Store is where the model versions and their policies live.
	Store StoreSpec `json:"store"`

	// Models to serve; the first is the server's default model. Each
	// model's version, labels and traffic are written into the store's
	// policy, which every replica follows without a restart.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Models []ModelSpec `json:"models"`

	// Worker runs the model for non-Go models.
	Worker WorkerSpec `json:"worker"`

	// Replicas when autoscaling is off. Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Autoscaling makes an HorizontalPodAutoscaler own the replica count.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// Batching turns on dynamic batching of concurrent requests.
	// +optional
	Batching *BatchingSpec `json:"batching,omitempty"`

	// Resources of the swapwire container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// AdminTokenSecret names a Secret in the namespace whose key "token"
	// is the bearer token admin calls must carry.
	// +optional
	AdminTokenSecret *corev1.LocalObjectReference `json:"adminTokenSecret,omitempty"`
}

// StoreSpec is an S3-compatible bucket or a volume; exactly one.
// +kubebuilder:validation:XValidation:rule="has(self.s3) != has(self.volume)",message="give exactly one of s3 or volume"
type StoreSpec struct {
	// S3 is an S3-compatible object store.
	// +optional
	S3 *S3Store `json:"s3,omitempty"`
	// Volume is a shared file system.
	// +optional
	Volume *VolumeStore `json:"volume,omitempty"`
}

// S3Store is a bucket and prefix on an S3-compatible server.
type S3Store struct {
	// URL is s3://bucket/prefix.
	// +kubebuilder:validation:Pattern=`^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$`
	URL string `json:"url"`
	// Endpoint of an S3-compatible server other than AWS, such as
	// http://minio.storage:9000.
	// +kubebuilder:validation:Pattern=`^https?://`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Region of the bucket.
	// +optional
	Region string `json:"region,omitempty"`
	// PathStyle addresses the bucket as endpoint/bucket/key, as most
	// self-hosted servers need.
	// +optional
	PathStyle bool `json:"pathStyle,omitempty"`
	// CredentialsSecret names a Secret in the namespace with the keys
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, handed to the server as
	// environment variables, never as arguments.
	CredentialsSecret corev1.LocalObjectReference `json:"credentialsSecret"`
}

// VolumeStore is a store on a file system every replica mounts.
// +kubebuilder:validation:XValidation:rule="has(self.claimName) != has(self.hostPath)",message="give exactly one of claimName or hostPath"
type VolumeStore struct {
	// ClaimName of a ReadWriteMany PersistentVolumeClaim.
	// +optional
	ClaimName string `json:"claimName,omitempty"`
	// HostPath of a directory on every node (single-node clusters, tests).
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	HostPath string `json:"hostPath,omitempty"`
}

// ModelSpec is one model and the versions it serves.
// +kubebuilder:validation:XValidation:rule="!has(self.traffic) || self.traffic.exists(t, t.weight > 0)",message="at least one traffic weight must be positive"
type ModelSpec struct {
	// Name of the model in the store.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`
	Name string `json:"name"`
	// Version pins the serving version; unset follows the latest version.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Version *int64 `json:"version,omitempty"`
	// Labels name versions, for example canary: 3. Label names are checked
	// by the operator (a bad one degrades the resource): a CEL rule on map
	// keys has no length bound and would be refused as too costly.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k] >= 1)",message="label versions are positive"
	// +optional
	Labels map[string]int64 `json:"labels,omitempty"`
	// Traffic splits requests that name no version among versions, in
	// proportion to their weights.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=version
	// +optional
	Traffic []TrafficWeight `json:"traffic,omitempty"`
}

// TrafficWeight is one version's share of the traffic.
type TrafficWeight struct {
	// +kubebuilder:validation:Minimum=1
	Version int64 `json:"version"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	Weight int32 `json:"weight"`
}

// WorkerSpec says how the model runs.
// +kubebuilder:validation:XValidation:rule="has(self.command) != has(self.image)",message="give exactly one of command or image"
type WorkerSpec struct {
	// Command runs the worker inside the swapwire container, for example
	// "python3 /app/worker.py".
	// +kubebuilder:validation:MinLength=1
	// +optional
	Command string `json:"command,omitempty"`
	// Image runs the worker as a second container of the pod; swapwire
	// attaches to it on 127.0.0.1:Port.
	// +kubebuilder:validation:MinLength=1
	// +optional
	Image string `json:"image,omitempty"`
	// Port the worker image listens on. Default 50052.
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
	// Count of worker processes per model version (command mode), or
	// requests sent at once to the attached worker (image mode). Default 1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=256
	// +optional
	Count int32 `json:"count,omitempty"`
	// Resources of the worker container (image mode).
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

// AutoscalingSpec bounds the replicas and sets the target.
// +kubebuilder:validation:XValidation:rule="self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas"
// +kubebuilder:validation:XValidation:rule="has(self.targetCPUUtilization) != has(self.targetInFlight)",message="give exactly one of targetCPUUtilization or targetInFlight"
type AutoscalingSpec struct {
	// +kubebuilder:validation:Minimum=1
	MinReplicas int32 `json:"minReplicas"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`
	// TargetCPUUtilization is the average CPU use, in percent of the
	// request, the autoscaler aims at.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	TargetCPUUtilization *int32 `json:"targetCPUUtilization,omitempty"`
	// TargetInFlight is the average number of requests in flight per pod
	// (the swapwire_inflight_requests pod metric; needs a metrics adapter).
	// +kubebuilder:validation:Minimum=1
	// +optional
	TargetInFlight *int32 `json:"targetInFlight,omitempty"`
}

// BatchingSpec configures dynamic batching.
type BatchingSpec struct {
	// MaxBatchSize is the largest batch.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=4096
	MaxBatchSize int32 `json:"maxBatchSize"`
	// MaxDelay a request waits for a batch while every worker is busy.
	// +optional
	MaxDelay *metav1.Duration `json:"maxDelay,omitempty"`
	// MaxQueue is how many requests may wait before RESOURCE_EXHAUSTED.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxQueue *int32 `json:"maxQueue,omitempty"`
}

// ModelServiceStatus is what the operator observed.
type ModelServiceStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Progressing, Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Replicas and ReadyReplicas of the Deployment.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// Models reports each model's versions in the store and the policy the
	// operator wrote.
	// +listType=map
	// +listMapKey=name
	// +optional
	Models []ModelStatus `json:"models,omitempty"`
}

// ModelStatus is one model as the store shows it.
type ModelStatus struct {
	Name string `json:"name"`
	// Versions committed in the store.
	// +optional
	Versions []int64 `json:"versions,omitempty"`
	// ServingVersion is the version the policy makes every replica serve:
	// the pin, or the latest version.
	// +optional
	ServingVersion int64 `json:"servingVersion,omitempty"`
	// PolicyGeneration is the store's generation of the policy last written.
	// +optional
	PolicyGeneration int64 `json:"policyGeneration,omitempty"`
	// Error is the last error reading or writing this model's policy.
	// +optional
	Error string `json:"error,omitempty"`
}

// Condition types.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
)

// ModelService runs a fleet of swapwire servers for some models.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ms;msvc,categories=swapwire
// +kubebuilder:printcolumn:name="Level",type=string,JSONPath=`.spec.serviceLevel`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Serving",type=integer,JSONPath=`.status.models[0].servingVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ModelService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ModelServiceSpec   `json:"spec"`
	Status ModelServiceStatus `json:"status,omitempty"`
}

// ModelServiceList is a list of ModelServices.
// +kubebuilder:object:root=true
type ModelServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ModelService{}, &ModelServiceList{})
}
