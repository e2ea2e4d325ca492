// Command swapwire serves models and talks to Swapwire servers.
//
//	swapwire serve    --model-dir DIR --worker "python3 worker.py" --listen 127.0.0.1:50051
//	swapwire predict  --addr HOST:PORT [--model M] (--text S | --ints 1,2 | --floats 0.5,1 | --strings a,b | --bytes-file F) [--option JSON]
//	swapwire health   --addr HOST:PORT [--service NAME] [--wait DURATION]
//	swapwire models   --addr HOST:PORT [--model M]
//	swapwire upload   --addr HOST:PORT --model M [--version V] PATH
//	swapwire switch   --addr HOST:PORT --model M (--version V | --latest)
//	swapwire label    --addr HOST:PORT --model M --label L (--version V | --remove)
//	swapwire split    --addr HOST:PORT --model M (3=90,4=10 | --clear)
//	swapwire rollback --addr HOST:PORT --model M
//	swapwire delete   --addr HOST:PORT --model M --version V
//	swapwire evaluate --addr HOST:PORT --model M [--version V] [--details] DATA.jsonl
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve models from a model store, in Go or through worker processes", runServe},
		{"predict", "send one prediction and print the answer as JSON", runPredict},
		{"health", "check a server's grpc.health.v1 status", runHealth},
		{"models", "list models, versions and their states", runModels},
		{"upload", "publish a directory or file as a new model version", runUpload},
		{"switch", "pin a model to a version, or follow the latest", runSwitch},
		{"label", "point a label such as canary at a version", runLabel},
		{"split", "share a model's traffic among versions by weight (A/B test, canary)", runSplit},
		{"rollback", "pin a model to the version that served before", runRollback},
		{"delete", "delete a model version from the store", runDelete},
		{"evaluate", "evaluate a model version on labelled examples", runEvaluate},
	}
}

// errUsage marks an error in the command line: exit status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "swapwire %s: %v\n", c.name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "swapwire %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "swapwire: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "swapwire serves machine-learning models over gRPC and hot-swaps their versions.")
	fmt.Fprintln(w, "\nUsage: swapwire COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'swapwire COMMAND -h' for a command's flags.")
}

// parseFlags parses a command's flags; a bad flag is a usage error (exit 2),
// and -h is flag.ErrHelp (exit 0). The flag package has printed why.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
