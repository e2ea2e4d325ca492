package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swapwire/swapwire/modelstore"
)

// claimName is the object a publisher creates (If-None-Match: *) under a
// version's prefix before uploading into it, so two publishers never
// upload into one version number. It is removed after the commit.
const claimName = ".claim"

// Store is a [modelstore.Store] in an S3 bucket under a key prefix. It is
// safe for concurrent use, and any number of processes may share a bucket
// and prefix.
type Store struct {
	client *s3.Client
	bucket string
	prefix string // "" or ends with "/"
	cache  *modelstore.Local
	cdir   string
	cfg    config
	log    *slog.Logger

	up     prometheus.Gauge
	errors *prometheus.CounterVec

	mu      sync.Mutex
	opened  map[string]time.Time // "model/version" → last Open
	lastErr error
}

var _ modelstore.Store = (*Store)(nil)

// New returns a store on bucket under prefix (a key prefix such as
// "models" or "team/models/"; a trailing slash is added when missing),
// caching downloaded versions in cacheDir, which is created if needed.
func New(client *s3.Client, bucket, prefix, cacheDir string, opts ...Option) (*Store, error) {
	cfg := config{
		poll:       DefaultPollInterval,
		jitter:     DefaultPollJitter,
		maxBackoff: DefaultMaxBackoff,
		cacheMax:   DefaultCacheMaxBytes,
		keep:       4,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	switch {
	case client == nil:
		return nil, errors.New("s3store: nil client")
	case bucket == "":
		return nil, errors.New("s3store: empty bucket name")
	case cfg.poll <= 0:
		return nil, fmt.Errorf("s3store: poll interval %v must be positive", cfg.poll)
	case cfg.jitter < 0 || cfg.jitter > 0.9:
		return nil, fmt.Errorf("s3store: poll jitter %v outside 0..0.9", cfg.jitter)
	case cfg.cacheMax <= 0:
		return nil, fmt.Errorf("s3store: cache bound %d must be positive", cfg.cacheMax)
	}
	cfg.maxBackoff = max(cfg.maxBackoff, cfg.poll)
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if strings.Contains(prefix, "//") {
		return nil, fmt.Errorf("s3store: prefix %q has an empty element", prefix)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("s3store: cache: %w", err)
	}
	cache, err := modelstore.NewLocal(cacheDir, modelstore.WithVerifyCache(false), modelstore.WithFSNotify(false), modelstore.WithPollInterval(0))
	if err != nil {
		return nil, fmt.Errorf("s3store: cache: %w", err)
	}
	s := &Store{
		client: client, bucket: bucket, prefix: prefix,
		cache: cache, cdir: cache.Root(), cfg: cfg, log: cfg.logger,
		opened: make(map[string]time.Time),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swapwire_store_up", Help: "1 while the model store answered the last poll, 0 while it fails.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swapwire_store_errors_total", Help: "Model store requests that failed, by operation.",
		}, []string{"op"}),
	}
	s.up.Set(1)
	if cfg.reg != nil {
		for _, c := range []prometheus.Collector{s.up, s.errors} {
			if err := cfg.reg.Register(c); err != nil {
				return nil, fmt.Errorf("s3store: register metrics: %w", err)
			}
		}
	}
	return s, nil
}

// String names the store for logs: s3://bucket/prefix.
func (s *Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// CacheDir returns the cache directory.
func (s *Store) CacheDir() string { return s.cdir }

// Err returns the error of the last poll, or nil when it succeeded.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *Store) modelKey(model string) string { return s.prefix + model + "/" }

func (s *Store) versionKey(model string, v int64) string {
	return fmt.Sprintf("%s%s/%d/", s.prefix, model, v)
}

// wrap classifies an S3 error: a transport failure (status 0: no answer), a server error, a
// throttle or an authentication failure wraps modelstore.ErrUnavailable
// (the store cannot tell us anything now); a missing key wraps
// modelstore.ErrNotFound.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isNotFound(err) {
		return fmt.Errorf("%w: %s: %w", modelstore.ErrNotFound, op, err)
	}
	s.errors.WithLabelValues(op).Inc()
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		if code == 0 || code >= 500 || code == http.StatusTooManyRequests || code == http.StatusUnauthorized || code == http.StatusForbidden {
			return fmt.Errorf("%w: s3store: %s: %w", modelstore.ErrUnavailable, op, err)
		}
		return fmt.Errorf("s3store: %s: %w", op, err)
	}
	return fmt.Errorf("%w: s3store: %s: %w", modelstore.ErrUnavailable, op, err)
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// isPrecondition reports a failed conditional write: 412 Precondition
// Failed, or 409 ConditionalRequestConflict (a concurrent conditional write
// to the same key).
func isPrecondition(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

// object is one listed key.
type object struct {
	key  string // relative to the prefix
	etag string
	size int64
	mod  time.Time
}

// list returns every object under prefix+sub, keys relative to prefix.
func (s *Store) list(ctx context.Context, op, sub string) ([]object, error) {
	var out []object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + sub),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			out = append(out, object{key: key, etag: aws.ToString(o.ETag), size: aws.ToInt64(o.Size), mod: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// split parses a relative key into model, version element and the rest.
func split(key string) (model, ver, rest string, ok bool) {
	model, after, ok := strings.Cut(key, "/")
	if !ok || modelstore.ValidateModelName(model) != nil {
		return "", "", "", false
	}
	ver, rest, _ = strings.Cut(after, "/")
	return model, ver, rest, true
}

// Models returns the models that have at least one object, sorted.
func (s *Store) Models(ctx context.Context) ([]string, error) {
	var models []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list models", err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), s.prefix), "/")
			if modelstore.ValidateModelName(name) == nil {
				models = append(models, name)
			}
		}
	}
	slices.Sort(models)
	return models, nil
}

// Versions returns the versions of model whose manifest exists, ascending.
func (s *Store) Versions(ctx context.Context, model string) ([]int64, error) {
	if err := modelstore.ValidateModelName(model); err != nil {
		return nil, err
	}
	objs, err := s.list(ctx, "list versions", s.modelKey(model)[len(s.prefix):])
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, o := range objs {
		if _, ver, rest, ok := split(o.key); ok && rest == modelstore.ManifestName {
			if v, ok := modelstore.ParseVersion(ver); ok {
				vs = append(vs, v)
			}
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// get reads a whole object of at most limit bytes, returning its ETag.
func (s *Store) get(ctx context.Context, op, key string, limit int64) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	if int64(len(data)) > limit {
		return nil, "", fmt.Errorf("s3store: %s: %s is larger than %d bytes", op, key, limit)
	}
	return data, aws.ToString(out.ETag), nil
}

// put writes an object. ifMatch "" writes unconditionally; "*" means
// If-None-Match: * (create only); anything else is an If-Match ETag.
func (s *Store) put(ctx context.Context, key string, body io.Reader, size int64, cond string) (*s3.PutObjectOutput, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), Body: body, ContentLength: aws.Int64(size)}
	switch cond {
	case "":
	case "*":
		in.IfNoneMatch = aws.String("*")
	default:
		in.IfMatch = aws.String(cond)
	}
	return s.client.PutObject(ctx, in)
}

// Delete removes a committed version: its manifest first, so it stops
// being a version at once, then its files, and its cached copy.
func (s *Store) Delete(ctx context.Context, model string, version int64) error {
	if err := modelstore.ValidateModelName(model); err != nil {
		return err
	}
	if err := modelstore.ValidateVersion(version); err != nil {
		return err
	}
	mkey := s.versionKey(model, version) + modelstore.ManifestName
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(mkey)}); err != nil {
		return s.wrap(fmt.Sprintf("delete %s version %d", model, version), err)
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(mkey)}); err != nil {
		return s.wrap("delete manifest", err)
	}
	if err := s.deleteUnder(ctx, s.versionKey(model, version)[len(s.prefix):]); err != nil {
		return err
	}
	if err := s.cache.Delete(ctx, model, version); err != nil && !errors.Is(err, modelstore.ErrNotFound) {
		s.log.Warn("s3store: remove cached version", "model", model, "version", version, "error", err)
	}
	return nil
}

// deleteUnder deletes every object under prefix+sub.
func (s *Store) deleteUnder(ctx context.Context, sub string) error {
	objs, err := s.list(ctx, "list for delete", sub)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + o.key)}); err != nil && !isNotFound(err) {
			return s.wrap("delete "+o.key, err)
		}
	}
	return nil
}

// Clean removes what interrupted publishes left: under every version
// prefix that has no manifest and whose newest object is older than
// olderThan, every object; claim objects of committed versions; and the
// cache's stale temporary directories. olderThan must exceed the longest
// upload in progress.
func (s *Store) Clean(ctx context.Context, olderThan time.Duration) error {
	objs, err := s.list(ctx, "clean", "")
	if err != nil {
		return err
	}
	type vinfo struct {
		manifest bool
		newest   time.Time
		keys     []string
	}
	byVersion := map[string]*vinfo{}
	for _, o := range objs {
		model, ver, rest, ok := split(o.key)
		if !ok || rest == "" {
			continue
		}
		if _, ok := modelstore.ParseVersion(ver); !ok {
			continue
		}
		id := model + "/" + ver
		vi := byVersion[id]
		if vi == nil {
			vi = &vinfo{}
			byVersion[id] = vi
		}
		if rest == modelstore.ManifestName {
			vi.manifest = true
		}
		if o.mod.After(vi.newest) {
			vi.newest = o.mod
		}
		vi.keys = append(vi.keys, o.key)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for id, vi := range byVersion {
		for _, k := range vi.keys {
			orphan := !vi.manifest && vi.newest.Before(cutoff)
			if !orphan && !(vi.manifest && path.Base(k) == claimName) {
				continue
			}
			if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + k)}); err != nil {
				errs = append(errs, s.wrap("clean "+id, err))
			}
		}
	}
	if err := s.cache.Clean(ctx, olderThan); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// bytesReader is a seekable body for small objects.
func bytesReader(b []byte) io.ReadSeeker { return bytes.NewReader(b) }
