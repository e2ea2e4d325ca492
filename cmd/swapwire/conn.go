package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// connFlags are the flags of every client command.
type connFlags struct {
	addr      string
	timeout   time.Duration
	token     string
	tokenFile string
	tlsCA     string
	tlsCert   string
	tlsKey    string
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "server address HOST:PORT")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "deadline for the call")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the admin bearer token (default: $SWAPWIRE_ADMIN_TOKEN); never pass a token itself on the command line")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "CA certificate file: connect with TLS and verify the server against it")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate file for mTLS")
	fs.StringVar(&c.tlsKey, "tls-key", "", "client key file for mTLS")
}

func (c *connFlags) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate found", c.tlsCA)
		}
		cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if c.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		creds = credentials.NewTLS(cfg)
	}
	return grpc.NewClient(c.addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
}

// loadToken reads the admin token from --token-file, else from
// $SWAPWIRE_ADMIN_TOKEN.
func (c *connFlags) loadToken() error {
	c.token = os.Getenv("SWAPWIRE_ADMIN_TOKEN")
	if c.tokenFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %v", err)
	}
	c.token = strings.TrimSpace(string(b))
	if c.token == "" {
		return fmt.Errorf("--token-file %s is empty", c.tokenFile)
	}
	return nil
}

// ctx returns the call context with the deadline and the admin token.
func (c *connFlags) ctx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	return ctx, cancel
}

// call dials the server, runs fn with the call context, and closes the
// connection.
func (c *connFlags) call(fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
	if err := c.loadToken(); err != nil {
		return err
	}
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := c.ctx()
	defer cancel()
	return fn(ctx, conn)
}
