package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TokenEnv is the environment variable WithTokenFromEnv reads.
const TokenEnv = "SWAPWIRE_ADMIN_TOKEN"

// DefaultMaxMessageSize bounds the messages a Client sends and receives
// unless WithMaxMessageSize says otherwise.
const DefaultMaxMessageSize = 64 << 20

// Client talks to one Swapwire server. It is safe for concurrent use.
type Client struct {
	conn   *grpc.ClientConn // nil when the caller owns the connection
	pred   swapwirev1.PredictionServiceClient
	admin  swapwirev1.ModelServiceClient
	health healthpb.HealthClient
}

// Option configures Dial.
type Option interface{ apply(*config) error }

type config struct {
	tls      *tls.Config
	token    string
	maxMsg   int
	dialOpts []grpc.DialOption
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// WithTLS connects with TLS configured by cfg (which Dial does not modify).
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) error { c.tls = cfg.Clone(); return nil })
}

// WithTLSFiles connects with TLS, verifying the server against the CA
// certificates in caFile (the system roots when it is empty) and, when
// certFile is set, presenting that client certificate and keyFile's key
// (mTLS).
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return optionFunc(func(c *config) error {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s: no certificate found", caFile)
			}
			cfg.RootCAs = pool
		}
		if certFile != "" || keyFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return err
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		c.tls = cfg
		return nil
	})
}

// WithToken sends token as the admin bearer token on every call. Read it
// from a file or the environment (WithTokenFile, WithTokenFromEnv); a
// token on a command line is readable by every user of the machine.
func WithToken(token string) Option {
	return optionFunc(func(c *config) error { c.token = token; return nil })
}

// WithTokenFile reads the admin bearer token from path (surrounding white
// space removed). An empty file is an error.
func WithTokenFile(path string) Option {
	return optionFunc(func(c *config) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return fmt.Errorf("token file %s is empty", path)
		}
		c.token = tok
		return nil
	})
}

// WithTokenFromEnv takes the admin bearer token from $SWAPWIRE_ADMIN_TOKEN,
// if it is set.
func WithTokenFromEnv() Option {
	return optionFunc(func(c *config) error {
		if tok := os.Getenv(TokenEnv); tok != "" {
			c.token = tok
		}
		return nil
	})
}

// WithMaxMessageSize bounds the size of one message sent or received.
func WithMaxMessageSize(n int) Option {
	return optionFunc(func(c *config) error { c.maxMsg = n; return nil })
}

// WithDialOptions adds gRPC dial options, after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) error { c.dialOpts = append(c.dialOpts, opts...); return nil })
}

// Dial returns a client of the server at addr (HOST:PORT, or any target
// grpc.NewClient accepts). It connects lazily: a server that is down shows
// in the first call's error. Without WithTLS or WithTLSFiles the
// connection is plaintext.
func Dial(addr string, opts ...Option) (*Client, error) {
	cfg := config{maxMsg: DefaultMaxMessageSize}
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	creds := insecure.NewCredentials()
	if cfg.tls != nil {
		creds = credentials.NewTLS(cfg.tls)
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.maxMsg), grpc.MaxCallSendMsgSize(cfg.maxMsg)),
	}
	if cfg.token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer(cfg.token)))
	}
	conn, err := grpc.NewClient(addr, append(dopts, cfg.dialOpts...)...)
	if err != nil {
		return nil, err
	}
	c := New(conn)
	c.conn = conn
	return c, nil
}

// New returns a client on a connection the caller made and closes.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{
		pred:   swapwirev1.NewPredictionServiceClient(conn),
		admin:  swapwirev1.NewModelServiceClient(conn),
		health: healthpb.NewHealthClient(conn),
	}
}

// Close closes the connection Dial made. It does nothing for a client made
// with New.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// bearer sends the admin token as "authorization: Bearer T". It does not
// demand a secure transport: the server decides whether it accepts tokens
// over plaintext.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// HealthStatus is a grpc.health.v1 serving status, such as "SERVING".
type HealthStatus = healthpb.HealthCheckResponse_ServingStatus

// Serving is the HealthStatus of a server or model that answers.
const Serving = healthpb.HealthCheckResponse_SERVING

// Health returns the grpc.health.v1 status of service: a model name, or ""
// for the whole server.
func (c *Client) Health(ctx context.Context, service string) (HealthStatus, error) {
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN, err
	}
	return resp.GetStatus(), nil
}

var errNoInput = errors.New("a request needs an input")

func errNotListed(name string) error {
	return status.Errorf(codes.NotFound, "model %q is not listed", name)
}
