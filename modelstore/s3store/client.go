package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ClientConfig says how to reach an S3-compatible service. Credentials are
// never part of it: they come from the standard chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE with the shared config and credentials
// files, web identity tokens such as a Kubernetes service account's, ECS
// task roles and EC2 instance roles). TLS uses the system's roots, plus
// AWS_CA_BUNDLE when set.
type ClientConfig struct {
	// Endpoint is the service's base URL, such as https://minio.example:9000;
	// empty for AWS S3. It must not hold credentials.
	Endpoint string
	// Region, such as us-east-1; empty for AWS_REGION or the profile's.
	Region string
	// PathStyle addresses buckets as https://host/bucket/key rather than
	// https://bucket.host/key; most self-hosted servers need it.
	PathStyle bool
	// MaxAttempts bounds the SDK's retries of one request (0: the SDK's
	// default of 3).
	MaxAttempts int
}

// NewClient returns an S3 client for cfg. It sends checksums only where
// the S3 API requires them, which every S3-compatible server understands.
func NewClient(ctx context.Context, cfg ClientConfig) (*s3.Client, error) {
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil {
			// url.Parse's error repeats the URL, which may hold a password.
			return nil, errors.New("s3store: endpoint is not a valid URL")
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, errors.New("s3store: endpoint must be an http:// or https:// URL")
		}
		if u.User != nil {
			return nil, errors.New("s3store: endpoint must not hold credentials; use the environment or a credentials file")
		}
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.MaxAttempts > 0 {
		opts = append(opts, awsconfig.WithRetryMaxAttempts(cfg.MaxAttempts))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3store: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}
