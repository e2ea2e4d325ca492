package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/client"
)

type healthOutput struct {
	Service string `json:"service"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

func healthCmd() *cobra.Command {
	var (
		service string
		wait    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health [flags]",
		Short: "check a server's grpc.health.v1 status",
		Long: `Check the grpc.health.v1 status of the whole server, or of one model with
--service. It exits 0 when the status is SERVING and 1 otherwise.

When a model does not serve because its versions failed to load and none
is left loading, the error says why (that needs an identity with the read
role; without one only the status is known). With --wait it keeps checking
until SERVING or the time is up, and returns at once on such a failure.`,
		Example: `  swapwire health
  swapwire health --service digits --wait 60s
  swapwire health -o json`,
		Args: args(cobra.NoArgs, "no arguments (name a model with --service)"),
	}
	cf := addConnFlags(cmd, 10*time.Second)
	out := addOutput(cmd, "table", "json", "yaml")
	cmd.Flags().StringVar(&service, "service", "", "service or model name; empty for the whole server")
	cmd.RegisterFlagCompletionFunc("service", completeModels(cf))
	cmd.Flags().DurationVar(&wait, "wait", 0, "keep checking until SERVING, a failure, or this long has passed")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		cl, err := cf.dial()
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		deadline := time.Now().Add(wait)
		for {
			cctx, cancel := cf.ctx(ctx)
			st, err := cl.Health(cctx, service)
			var failed error
			if err != nil || st != client.Serving {
				failed = loadFailure(cctx, cl, service)
			}
			cancel()
			if err == nil && st == client.Serving {
				return out.print(cmd.OutOrStdout(), healthOutput{Service: service, Status: st.String()}, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, st)
					return err
				})
			}
			if failed != nil || !time.Now().Before(deadline) {
				if err != nil {
					return err
				}
				res := healthOutput{Service: service, Status: st.String()}
				if failed != nil {
					res.Error = failed.Error()
				}
				out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, st)
					return err
				})
				if failed != nil {
					return failed
				}
				return fmt.Errorf("status %s", st)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(client.PollInterval): // a remote server's state: polling is the only signal
			}
		}
	}
	return cmd
}

// loadFailure returns why service (a model, or "" for every model) cannot
// serve: its versions failed and none is loading. It returns nil while
// there is hope, and when the model is not listed or listing is not
// allowed (health itself needs no identity; the reason needs role read).
func loadFailure(ctx context.Context, cl *client.Client, service string) error {
	var models []client.ModelStatus
	if service == "" {
		ms, err := cl.Models(ctx)
		if err != nil {
			return nil
		}
		models = ms
	} else {
		m, err := cl.Model(ctx, service)
		if err != nil {
			return nil // not listed (yet), or not allowed: keep checking
		}
		models = []client.ModelStatus{m}
	}
	var errs []error
	for _, m := range models {
		if err := modelFailure(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// modelFailure returns the load errors of a model that has no serving
// version and no version loading, or nil.
func modelFailure(m client.ModelStatus) error {
	if m.ServingVersion != 0 {
		return nil
	}
	var failed []error
	for _, v := range m.Versions {
		switch v.State {
		case "loading":
			return nil
		case "failed":
			failed = append(failed, fmt.Errorf("model %s version %d failed to load: %s", m.Name, v.Version, v.Error))
		}
	}
	return errors.Join(failed...)
}
