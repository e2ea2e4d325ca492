package s3store

// WithBeforeManifest runs f in Commit after the files are uploaded and
// before the manifest is, so a test can kill the publisher there.
func WithBeforeManifest(f func()) Option {
	return optionFunc(func(c *config) { c.beforeManifest = f })
}
