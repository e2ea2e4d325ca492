package main

import (
	"io"

	"github.com/spf13/cobra"
)

// serveCmd runs serve, whose flags stay in serve.go as a standard flag set
// (so -flag and --flag both work, as they always did); cobra passes its
// arguments through untouched.
func serveCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve --model-store STORE (--worker CMD | --worker-addr HOST:PORT) [flags]",
		Short: "serve models from a model store, in Go or through worker processes",
		Long: `Serve the models of a model store over gRPC, through worker processes
(--worker "python3 worker.py") or a worker already running (--worker-addr).
Run 'swapwire serve --help' for every flag.`,
		Example: `  swapwire serve --model-store ./models --worker "python3 worker.py"
  swapwire serve --model-store s3://models/prod --s3-endpoint http://127.0.0.1:9000 --s3-path-style --worker "python3 worker.py"`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			errOut := stderr
			for _, a := range args {
				if a == "-h" || a == "-help" || a == "--help" {
					errOut = stdout // help goes to stdout, like every command's
				}
			}
			return runServe(args, stdout, errOut)
		},
	}
}
