// Package s3store is a [modelstore.Store] in S3-compatible object storage:
// AWS S3, GCS through its S3 interoperability, Ceph RGW, MinIO, versitygw.
// The layout is the local store's, under a key prefix:
//
//	<prefix><model>/<version>/...            the version's files
//	<prefix><model>/<version>/MANIFEST.json  written last: the version exists once it does
//	<prefix><model>/POLICY.json              the model's policy
//
// Publishing uploads every file of a version and then its manifest, so an
// upload that dies leaves objects that no replica lists or loads; Clean
// removes them. Open downloads a version into a local cache directory
// (itself a [modelstore.Local]), checking every file's size and SHA-256
// against the manifest before anything may load it; the cache is bounded
// and survives restarts, and every Open rehashes the cached files. Watch
// polls a listing of the prefix on a jittered interval and compares ETags.
// UpdatePolicy is a compare-and-swap through conditional requests: If-Match
// on the ETag it read, or If-None-Match: * to create.
//
// Failures to reach the store are returned wrapping
// [modelstore.ErrUnavailable], and Watch keeps polling with backoff through
// them: a server keeps serving what it loaded (fail static).
//
// # Why the AWS SDK for Go v2
//
// The client is the AWS SDK v2 S3 client rather than minio-go. Both are
// maintained and speak to every S3-compatible server; the SDK was chosen
// because its credential chain is the standard one operators expect
// (environment, shared config and credentials files, SSO, web identity for
// Kubernetes service accounts, ECS and EC2 instance roles), because
// conditional writes (IfMatch, IfNoneMatch on PutObject) are plain fields
// of its API, and because its dependencies are the SDK's own modules and
// smithy-go, with no third-party code. It lives in the root module rather
// than a nested one because the swapwire binary, in the root module, must
// read s3:// stores; Go's module graph pruning means a program that imports
// only serving or modelstore compiles none of it.
package s3store
