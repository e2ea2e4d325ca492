package controller

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/swapwire/swapwire/modelstore/s3store"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// Stores opens a ModelService's store: S3 stores with the operator's own
// AWS credentials (the standard chain: environment, shared files, a
// service account's web identity), volume stores as [VolumeStores] does.
// The operator reads no Secret: its identity needs read access to the
// store's listing and read-write access to the models' POLICY.json.
type Stores struct {
	Volumes VolumeStores
	// CacheDir is where an S3 store would cache downloads; the operator
	// downloads no model, so the default, a directory under os.TempDir(),
	// stays empty.
	CacheDir string

	mu sync.Mutex
	s3 map[s3Key]*s3store.Store
}

type s3Key struct {
	url, endpoint, region string
	pathStyle             bool
}

// Open implements [StoreOpener].
func (s *Stores) Open(ctx context.Context, ms *v1alpha1.ModelService) (PolicyStore, error) {
	spec := ms.Spec.Store.S3
	if spec == nil {
		return s.Volumes.Open(ctx, ms)
	}
	key := s3Key{spec.URL, spec.Endpoint, spec.Region, spec.PathStyle}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.s3[key]; ok {
		return st, nil
	}
	bucket, prefix, err := parseS3URL(spec.URL)
	if err != nil {
		return nil, err
	}
	client, err := s3store.NewClient(ctx, s3store.ClientConfig{Endpoint: spec.Endpoint, Region: spec.Region, PathStyle: spec.PathStyle})
	if err != nil {
		return nil, err
	}
	cache := s.CacheDir
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "swapwire-operator-cache")
	}
	st, err := s3store.New(client, bucket, prefix, cache)
	if err != nil {
		return nil, err
	}
	if s.s3 == nil {
		s.s3 = make(map[s3Key]*s3store.Store)
	}
	s.s3[key] = st
	return st, nil
}

// parseS3URL splits s3://bucket/prefix; the prefix ends with a slash when
// it is not empty.
func parseS3URL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("store URL %q: want s3://bucket/prefix", raw)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}
