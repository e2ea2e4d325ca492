// Command swapwire serves models and talks to Swapwire servers.
//
//	swapwire serve    --model-store DIR (--worker "python3 worker.py" | --worker-addr HOST:PORT) [--listen 127.0.0.1:50051]
//	swapwire predict  [--model M] (--text S | --ints 1,2 | --floats 0.5,1 | --strings a,b | --bytes-file F) [--option JSON]
//	swapwire health   [--service NAME] [--wait DURATION]
//	swapwire models   [MODEL] [-o table|wide|json|yaml]
//	swapwire upload   PATH --model M [--version V]
//	swapwire publish  DIR --model-store STORE --model M [--version V]
//	swapwire switch   --model M (--version V | --latest) [--no-wait]
//	swapwire label    --model M --label L (--version V | --remove) [--no-wait]
//	swapwire split    --model M (3=90,4=10 | --clear) [--no-wait]
//	swapwire rollback --model M [--no-wait]
//	swapwire delete   --model M --version V
//	swapwire evaluate DATA.jsonl [--model M] [--version V] [--details]
//	swapwire version
//	swapwire completion bash|zsh|fish
//
// Every command's help (swapwire COMMAND --help) has examples. Client
// commands take --addr, TLS flags and the admin token from --token-file or
// $SWAPWIRE_ADMIN_TOKEN, never from the command line.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// errUsage marks an error in the command line: exit status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the command line args and returns the exit status: 0 on
// success, 1 when the command failed, 2 when the command line is wrong.
func dispatch(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	name := "swapwire"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	if errors.Is(err, errUsage) {
		if cmd != nil && cmd != root || len(args) == 0 {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
		}
		return 2
	}
	if h := hint(err); h != "" {
		fmt.Fprintf(stderr, "hint: %s\n", h)
	}
	return 1
}

const rootLong = `swapwire serves machine-learning models over gRPC and hot-swaps their
versions. It runs the server (serve), writes versions into a model store
(publish), and administers running servers: predictions, health, model
listings, uploads, switches, labels, traffic splits and rollbacks.

Client commands connect to --addr (default 127.0.0.1:50051). Admin commands
send the bearer token from --token-file FILE or $SWAPWIRE_ADMIN_TOKEN; a token
is never taken from the command line. Read commands print -o table (the
default), json or yaml.`

const rootExample = `  swapwire serve --model-store ./models --worker "python3 worker.py"
  swapwire models -o json
  swapwire upload ./mymodel-v2 --model mymodel
  swapwire switch --model mymodel --version 2`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "swapwire",
		Short:         "serve machine-learning models over gRPC and hot-swap their versions",
		Long:          rootLong,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageErr("%s (run 'swapwire --help' for the commands)", msg)
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SuggestionsMinimumDistance = 2
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w: %v%s", errUsage, err, flagSuggestion(cmd, err))
	})
	root.AddGroup(&cobra.Group{ID: "serve", Title: "Serve and publish:"},
		&cobra.Group{ID: "client", Title: "Talk to a server:"},
		&cobra.Group{ID: "admin", Title: "Administer models on a server:"})
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("serve", serveCmd(stdout, stderr), publishCmd())
	add("client", predictCmd(), healthCmd(), modelsCmd(), evaluateCmd())
	add("admin", uploadCmd(stderr), switchCmd(), labelCmd(), splitCmd(), rollbackCmd(), deleteCmd())
	root.AddCommand(versionCmd())
	root.CompletionOptions.HiddenDefaultCmd = false
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	return root
}

// flagSuggestion returns "; did you mean --x?" for an unknown flag close to
// one of the command's flags, or "".
func flagSuggestion(cmd *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	best, bestD := "", 3 // suggest only within two edits
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if d := editDistance(name, f.Name); d < bestD && !f.Hidden {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return ""
	}
	return "; did you mean --" + best + "?"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
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

// args returns a positional-argument check whose errors are usage errors.
func args(check cobra.PositionalArgs, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageErr("%v; want %s", err, what)
		}
		return nil
	}
}
