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
// [Static] serves one plain directory as version 1 of one model, for running
// a model without a store.
package modelstore
