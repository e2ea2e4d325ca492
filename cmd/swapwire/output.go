package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// outputFlag is a command's -o flag.
type outputFlag struct {
	format  string
	allowed []string
}

// addOutput registers -o/--output with the formats allowed, the first the
// default, and completes its values.
func addOutput(cmd *cobra.Command, allowed ...string) *outputFlag {
	o := &outputFlag{allowed: allowed}
	cmd.Flags().StringVarP(&o.format, "output", "o", allowed[0], "output format: "+strings.Join(allowed, ", "))
	cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allowed, cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

// check refuses a format the command does not print.
func (o *outputFlag) check() error {
	if !slices.Contains(o.allowed, o.format) {
		return usageErr("-o %q: want one of %s", o.format, strings.Join(o.allowed, ", "))
	}
	return nil
}

// structured reports whether the format is json or yaml.
func (o *outputFlag) structured() bool { return o.format == "json" || o.format == "yaml" }

// print writes v as JSON or YAML, or calls table for the other formats.
func (o *outputFlag) print(w io.Writer, v any, table func(w io.Writer) error) error {
	switch o.format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(v) // through the JSON form: the same field names
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return table(w)
}
