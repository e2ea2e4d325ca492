package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/modelstore"
)

type publishOutput struct {
	Model   string `json:"model"`
	Version int64  `json:"version"`
	Store   string `json:"store"`
}

func publishCmd() *cobra.Command {
	var (
		model   string
		version int64
	)
	cmd := &cobra.Command{
		Use:   "publish DIR --model-store STORE --model M [flags]",
		Short: "write a version into a model store directly, with no server",
		Long: `Write DIR (a version directory, or a single file) into a model store as a
new version of a model, without a server: for a store no server runs on
yet, or one that servers only read. The version is written under a hidden
name with its manifest and renamed into place, the same atomic commit as
'swapwire upload', so a server watching the store never sees half of it.

STORE is a directory (DIR or file:///DIR) or S3-compatible storage
(s3://BUCKET/PREFIX, credentials from the AWS environment). Copying a
version directory into a store by hand does not work: it has no manifest
and is never served.`,
		Example: `  swapwire publish ./digits-v1 --model-store ./models --model digits
  swapwire publish model.joblib --model-store s3://models/prod --model sentiment --version 3
  swapwire serve --model-store ./models --worker "python3 worker.py"`,
		Args: args(cobra.ExactArgs(1), "one DIR, --model-store STORE and --model M"),
	}
	out := addOutput(cmd, "table", "json", "yaml")
	gfs := flag.NewFlagSet("publish", flag.ContinueOnError)
	storeFl := addStoreFlags(gfs)
	cmd.Flags().AddGoFlagSet(gfs)
	cmd.Flags().Lookup("model-cache").Hidden = true
	cmd.Flags().Lookup("model-cache-max-bytes").Hidden = true
	cmd.MarkFlagDirname("model-store")
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.Flags().Int64Var(&version, "version", 0, "version to create; 0 for the next free number")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if err := requireModel(model); err != nil {
			return err
		}
		if err := modelstore.ValidateModelName(model); err != nil {
			return usageErr("--model %q: %v", model, err)
		}
		if version < 0 {
			return usageErr("--version must be positive, or 0 for the next")
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		store, name, err := storeFl.open(ctx, "", time.Minute, false, log, prometheus.NewRegistry())
		if err != nil {
			return err
		}
		if c, ok := store.(interface{ Close() error }); ok {
			defer c.Close()
		}
		v, err := modelstore.PublishDir(ctx, store, model, version, a[0])
		if err != nil {
			return err
		}
		res := publishOutput{Model: model, Version: v, Store: name}
		return out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "published %s version %d to %s\n", model, v, name)
			return err
		})
	}
	return cmd
}
