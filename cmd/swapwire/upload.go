package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/client"
)

func uploadCmd(stderr io.Writer) *cobra.Command {
	var (
		model   string
		version int64
		chunk   int
		idle    time.Duration
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "upload PATH --model M [flags]",
		Short: "publish a directory or file as a new model version on a server",
		Long: `Send PATH (a version directory, or a single file) to a running server,
which writes it into its model store as a new version: nothing becomes
visible unless the whole archive arrives and its sha256 matches.

An upload fails when it makes no progress for --idle-timeout; it has no
total deadline unless --timeout is set, so a large model on a slow link goes
through. A progress bar is drawn on stderr when stderr is a terminal.

To write into a store no server runs on, use 'swapwire publish'.`,
		Example: `  swapwire upload ./digits-v2 --model digits
  swapwire upload model.joblib --model sentiment --version 7
  SWAPWIRE_ADMIN_TOKEN=$(cat token) swapwire upload ./v3 --model digits -o json`,
		Args: args(cobra.ExactArgs(1), "one PATH and --model M"),
	}
	cf := addConnFlags(cmd, 0)
	out := addOutput(cmd, "table", "json", "yaml")
	fs := cmd.Flags()
	fs.StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	fs.Int64Var(&version, "version", 0, "version to create; 0 for the next one")
	fs.IntVar(&chunk, "chunk", 1<<20, "bytes per message")
	fs.DurationVar(&idle, "idle-timeout", client.DefaultIdleTimeout, "fail when the upload makes no progress for this long; 0 for never")
	fs.BoolVar(&quiet, "quiet", false, "no progress bar")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if model == "" {
			return usageErr("want --model M and one PATH")
		}
		if chunk <= 0 {
			return usageErr("--chunk must be positive")
		}
		opts := []client.UploadOption{client.WithChunkSize(chunk), client.WithIdleTimeout(idle)}
		bar := !quiet && isTerminal(stderr)
		if bar {
			opts = append(opts, client.WithProgress(func(sent, total int64) { progress(stderr, sent, total) }))
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			res, err := cl.Upload(ctx, model, version, a[0], opts...)
			if bar {
				fmt.Fprintln(stderr)
			}
			if err != nil {
				return err
			}
			return out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "uploaded %s version %d: %d files, %d bytes, sha256 %s\n", res.Model, res.Version, res.Files, res.Size, res.SHA256)
				return err
			})
		})
	}
	return cmd
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line progress bar.
func progress(w io.Writer, done, total int64) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	fmt.Fprintf(w, "\rupload [%s] %3.0f%% %s / %s", bar, frac*100, human(done), human(total))
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
