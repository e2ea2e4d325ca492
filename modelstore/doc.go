// Package modelstore keeps model versions where every Swapwire replica can
// see them, and tells the server when they change.
//
// A store holds models, each with positive integer versions, and a policy
// per model that says which version serves (the latest, or a pinned one) and
// which versions named labels such as "stable" and "canary" point at. Every
// server that shares a store converges on its policy.
//
// [Local] is a store in a local (or network-mounted) directory:
//
//	<root>/<model>/<version>/...          a committed version
//	<root>/<model>/<version>/MANIFEST.json  size and sha256 of every file
//	<root>/<model>/POLICY.json            the serving policy
//
// A version becomes visible only when complete: it is written under a hidden
// temporary name and renamed into place. Open checks every file against the
// manifest, so a version copied into place by some other tool, file by file,
// is never served before it is complete and correct; [PublishDir] is the
// safe way to add a version from an existing directory.
//
// Model names and labels are checked by [ValidateModelName] and
// [ValidateLabel] before any path is built, so no call reaches outside the
// store's root.
//
// Policies are shared state: write them with [Store.UpdatePolicy], a
// read-modify-write with compare-and-swap underneath, so that concurrent
// writers (admin calls on several replicas, a Kubernetes operator) never
// lose each other's changes:
//
//	p, err := store.UpdatePolicy(ctx, "digits", func(p *modelstore.Policy) error {
//		if p.Labels == nil {
//			p.Labels = map[string]int64{}
//		}
//		p.Labels["canary"] = 4
//		return nil
//	})
//
// The function may run more than once (after a conflict) and must depend
// only on the policy it is given. Every write bumps [Policy.Generation].
//
// Errors wrapping [ErrUnavailable] mean the store could not be read; a
// server must keep serving what it serves (fail static). Package s3store
// holds the store for S3-compatible object storage.
//
// [Static] serves one plain directory as version 1 of one model, for running
// a model without a store.
package modelstore
