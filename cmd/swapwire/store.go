package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/s3store"
)

// storeFlags are serve's flags that choose and configure the model store.
type storeFlags struct {
	url       *string
	endpoint  *string
	region    *string
	pathStyle *bool
	cache     *string
	cacheMax  *int64
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	return &storeFlags{
		url:       fs.String("model-store", "", "model store: a directory (DIR or file:///DIR) or S3-compatible storage (s3://BUCKET/PREFIX); credentials come from the AWS environment variables, shared files or instance/pod roles, never from flags"),
		endpoint:  fs.String("s3-endpoint", "", "S3 endpoint URL for s3:// stores that are not AWS S3, such as https://minio.example:9000"),
		region:    fs.String("s3-region", "", "S3 region (default $AWS_REGION, else us-east-1)"),
		pathStyle: fs.Bool("s3-path-style", false, "address buckets by path (https://host/bucket/key), as most self-hosted S3 servers need"),
		cache:     fs.String("model-cache", defaultCacheDir(), "directory where versions of an s3:// store are downloaded; reused across restarts"),
		cacheMax:  fs.Int64("model-cache-max-bytes", s3store.DefaultCacheMaxBytes, "bound on the bytes of cached versions of an s3:// store"),
	}
}

func defaultCacheDir() string {
	if d := os.Getenv("SWAPWIRE_MODEL_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "swapwire", "models")
	}
	return filepath.Join(os.TempDir(), "swapwire-models")
}

// storeURL is a parsed --model-store value: a local directory, or a bucket
// and key prefix.
type storeURL struct {
	dir    string // local store
	bucket string // s3 store
	prefix string
}

// parseStoreURL accepts a bare path, file:///abs/path and s3://bucket[/prefix].
func parseStoreURL(raw string) (storeURL, error) {
	if raw == "" {
		return storeURL{}, errors.New("empty model store")
	}
	if strings.ContainsRune(raw, 0) {
		return storeURL{}, errors.New("model store contains a NUL byte")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return storeURL{dir: raw}, nil
	}
	switch scheme {
	case "file":
		u, err := url.Parse(raw)
		if err != nil {
			return storeURL{}, err
		}
		if u.Host != "" && u.Host != "localhost" {
			return storeURL{}, fmt.Errorf("file URL %q names host %q; want file:///path", raw, u.Host)
		}
		if u.Path == "" || u.RawQuery != "" || u.Fragment != "" {
			return storeURL{}, fmt.Errorf("file URL %q: want file:///path", raw)
		}
		return storeURL{dir: u.Path}, nil
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if err := validBucket(bucket); err != nil {
			return storeURL{}, err
		}
		if strings.ContainsAny(prefix, "?#") || strings.Contains(prefix, "//") || strings.HasPrefix(prefix, "/") {
			return storeURL{}, fmt.Errorf("s3 URL %q: the prefix must be plain key elements separated by single slashes", raw)
		}
		return storeURL{bucket: bucket, prefix: prefix}, nil
	}
	return storeURL{}, fmt.Errorf("model store %q: want a directory, file:///DIR or s3://BUCKET/PREFIX", raw)
}

// validBucket checks the S3 bucket naming rules: 3 to 63 lower-case
// letters, digits, dots and hyphens, beginning and ending with a letter or
// digit. (A user name or password in the URL fails here too.)
func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q: want 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '.' || c == '-') && i > 0 && i < len(b)-1
		if !ok {
			return fmt.Errorf("bucket name %q: only lower-case letters, digits, inner dots and hyphens", b)
		}
	}
	return nil
}

// open returns the store the flags name (modelDir is the older
// --model-dir) and a description for logs, which holds no secret.
func (f *storeFlags) open(ctx context.Context, modelDir string, poll time.Duration, noNotify bool, log *slog.Logger, reg prometheus.Registerer) (modelstore.Store, string, error) {
	raw := *f.url
	switch {
	case raw != "" && modelDir != "":
		return nil, "", usageErr("give --model-store or --model-dir, not both")
	case raw == "" && modelDir == "":
		return nil, "", usageErr("--model-store URL or --model-dir is required")
	case raw == "":
		raw = modelDir
	}
	u, err := parseStoreURL(raw)
	if err != nil {
		return nil, "", usageErr("--model-store: %v", err)
	}
	if u.dir == "" {
		if noNotify {
			return nil, "", usageErr("--no-fsnotify applies to directory stores only")
		}
		if poll <= 0 {
			return nil, "", usageErr("an s3:// store needs a positive --poll interval")
		}
		client, err := s3store.NewClient(ctx, s3store.ClientConfig{Endpoint: *f.endpoint, Region: *f.region, PathStyle: *f.pathStyle})
		if err != nil {
			return nil, "", usageErr("%v", err)
		}
		s, err := s3store.New(client, u.bucket, u.prefix, *f.cache,
			s3store.WithPollInterval(poll), s3store.WithCacheMaxBytes(*f.cacheMax),
			s3store.WithLogger(log), s3store.WithRegisterer(reg))
		if err != nil {
			return nil, "", err
		}
		return s, s.String(), nil
	}
	if *f.endpoint != "" || *f.region != "" || *f.pathStyle {
		return nil, "", usageErr("--s3-endpoint, --s3-region and --s3-path-style apply to s3:// stores only")
	}
	opts := []modelstore.LocalOption{modelstore.WithPollInterval(poll), modelstore.WithLogger(log)}
	if noNotify {
		if poll <= 0 {
			return nil, "", usageErr("--no-fsnotify needs a --poll interval")
		}
		opts = append(opts, modelstore.WithFSNotify(false))
	}
	if err := os.MkdirAll(u.dir, 0o755); err != nil {
		return nil, "", err
	}
	s, err := modelstore.NewLocal(u.dir, opts...)
	if err != nil {
		return nil, "", err
	}
	return s, s.Root(), nil
}
