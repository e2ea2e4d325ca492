package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit is the commit swapwire is built from, for builds that record no
// VCS information themselves (git worktrees, -buildvcs=false, a source
// tree without .git): make build sets it with
// -ldflags "-X main.commit=$(git rev-parse HEAD)".
var commit string

// buildInfo is what version prints.
type buildInfo struct {
	Version  string `json:"version"`            // the module version, "(devel)" for a build from a checkout
	Commit   string `json:"commit,omitempty"`   // the VCS revision, when the build recorded it
	Time     string `json:"time,omitempty"`     // the revision's commit time
	Modified bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(unknown)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		b.Commit = commit
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Commit == "" {
		b.Commit = commit
	}
	return b
}

func versionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version [flags]",
		Short: "print the version, commit and Go version swapwire was built with",
		Long: `Print the module version, the commit it was built from (recorded by go
build from a git checkout; absent under go run or go test) and the Go
version.`,
		Example: `  swapwire version
  swapwire version -o json`,
		Args: args(cobra.NoArgs, "no arguments"),
	}
	out := addOutput(cmd, "table", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		b := readBuildInfo()
		return out.print(cmd.OutOrStdout(), b, func(w io.Writer) error {
			c := b.Commit
			if c == "" {
				c = "unknown (build with make build, or go build in a git checkout)"
			} else if b.Modified {
				c += " (with uncommitted changes)"
			}
			fmt.Fprintf(w, "swapwire %s\ncommit   %s\n", b.Version, c)
			if b.Time != "" {
				fmt.Fprintf(w, "date     %s\n", b.Time)
			}
			_, err := fmt.Fprintf(w, "go       %s %s\n", b.Go, b.Platform)
			return err
		})
	}
	return cmd
}
