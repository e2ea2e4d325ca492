package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/client"
)

// connFlags are the flags of every client command.
type connFlags struct {
	addr      string
	timeout   time.Duration
	tokenFile string
	tlsCA     string
	tlsCert   string
	tlsKey    string
}

// addConnFlags registers the connection flags; timeout is the default of
// --timeout.
func addConnFlags(cmd *cobra.Command, timeout time.Duration) *connFlags {
	c := &connFlags{}
	fs := cmd.Flags()
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "server address HOST:PORT")
	fs.DurationVar(&c.timeout, "timeout", timeout, "deadline for the whole command; 0 for none")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the admin bearer token (default: $SWAPWIRE_ADMIN_TOKEN); a token itself is never taken from the command line")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "CA certificate file: connect with TLS and verify the server against it")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate file for mTLS")
	fs.StringVar(&c.tlsKey, "tls-key", "", "client key file for mTLS")
	cmd.MarkFlagFilename("token-file")
	cmd.MarkFlagFilename("tls-ca", "pem", "crt")
	cmd.MarkFlagFilename("tls-cert", "pem", "crt")
	cmd.MarkFlagFilename("tls-key", "pem", "key")
	return c
}

// dial connects with the flags' TLS settings and the token from
// --token-file or $SWAPWIRE_ADMIN_TOKEN.
func (c *connFlags) dial() (*client.Client, error) {
	opts := []client.Option{client.WithTokenFromEnv()}
	if c.tokenFile != "" {
		opts = append(opts, client.WithTokenFile(c.tokenFile))
	}
	if c.tlsCA != "" || c.tlsCert != "" {
		if c.tlsCA == "" {
			return nil, usageErr("--tls-cert needs --tls-ca")
		}
		opts = append(opts, client.WithTLSFiles(c.tlsCA, c.tlsCert, c.tlsKey))
	}
	cl, err := client.Dial(c.addr, opts...)
	if err != nil && strings.HasPrefix(err.Error(), "token file") {
		return nil, fmt.Errorf("--token-file: %v", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "token file"), ": "))
	}
	return cl, err
}

// ctx returns the command's context bounded by --timeout.
func (c *connFlags) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	if c.timeout <= 0 {
		return context.WithCancel(parent)
	}
	return context.WithTimeout(parent, c.timeout)
}

// call dials, runs fn within --timeout, and closes the connection.
func (c *connFlags) call(cmd *cobra.Command, fn func(ctx context.Context, cl *client.Client) error) error {
	cl, err := c.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := c.ctx(cmd.Context())
	defer cancel()
	return fn(ctx, cl)
}

// hint says what to do about a failed call, or "".
func hint(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the command ran out of time; raise --timeout (0 for none)"
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return "admin calls need an identity: put its token in $SWAPWIRE_ADMIN_TOKEN or a file named by --token-file (and connect with TLS unless the server allows plaintext tokens)"
	case codes.Unavailable:
		return "is a server listening at --addr? For a TLS server pass --tls-ca (and --tls-cert/--tls-key for mTLS)"
	case codes.DeadlineExceeded:
		return "the call ran out of time; raise --timeout (0 for none)"
	case codes.NotFound:
		return "'swapwire models' lists the models and versions the server has"
	}
	return ""
}

// completeModels completes a model name with the models the server at the
// command's --addr lists (with the token from the environment or
// --token-file); nothing when it cannot be asked.
func completeModels(cf *connFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		cl, err := cf.dial()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ms, err := cl.Models(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, m := range ms {
			if strings.HasPrefix(m.Name, prefix) {
				names = append(names, m.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
