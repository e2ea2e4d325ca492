package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/client"
)

func modelsCmd() *cobra.Command {
	var model string
	cmd := &cobra.Command{
		Use:     "models [MODEL] [flags]",
		Aliases: []string{"list", "ls"},
		Short:   "list models, versions and their states",
		Long: `List every model the server serves (or one), each version's state
(available, loading, serving, standby, draining, failed), its load time,
requests in flight, labels, traffic weight and error.

The table cuts long errors; -o wide prints them in full, and -o json or yaml
print every field.`,
		Example: `  swapwire models
  swapwire models digits -o wide
  swapwire models -o json | jq '.[].serving_version'`,
		Args: args(cobra.MaximumNArgs(1), "at most one MODEL"),
	}
	cf := addConnFlags(cmd, 30*time.Second)
	out := addOutput(cmd, "table", "wide", "json", "yaml")
	cmd.Flags().StringVar(&model, "model", "", "only this model (the same as the MODEL argument)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.ValidArgsFunction = func(c *cobra.Command, a []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(a) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeModels(cf)(c, a, prefix)
	}
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if len(a) == 1 {
			if model != "" && model != a[0] {
				return usageErr("MODEL %q and --model %q differ", a[0], model)
			}
			model = a[0]
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			var ms []client.ModelStatus
			var err error
			if model == "" {
				ms, err = cl.Models(ctx)
			} else {
				var m client.ModelStatus
				m, err = cl.Model(ctx, model)
				ms = []client.ModelStatus{m}
			}
			if err != nil {
				return err
			}
			return out.print(cmd.OutOrStdout(), ms, func(w io.Writer) error {
				return printModels(w, ms, out.format == "wide")
			})
		})
	}
	return cmd
}

// maxError is the length at which the table cuts an error.
const maxError = 160

func printModels(w io.Writer, models []client.ModelStatus, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "MODEL\tVERSION\tSTATE\tLOAD\tIN-FLIGHT\tLABELS\tWEIGHT\tERROR"
	if wide {
		head = "MODEL\tVERSION\tSTATE\tLOAD\tLOADED-AT\tIN-FLIGHT\tWORKERS\tLABELS\tWEIGHT\tERROR"
	}
	fmt.Fprintln(tw, head)
	cut := false
	errText := func(s string) string {
		s = strings.ReplaceAll(s, "\n", " | ")
		if !wide && len(s) > maxError {
			cut = true
			s = s[:maxError-3] + "..."
		}
		return s
	}
	for _, m := range models {
		name := m.Name
		if m.Default {
			name += " (default)"
		}
		if m.PinnedVersion > 0 {
			name += fmt.Sprintf(" [pinned %d]", m.PinnedVersion)
		}
		byVersion := map[int64][]string{}
		for l, v := range m.Labels {
			byVersion[v] = append(byVersion[v], l)
		}
		blank := "\t\t\t\t\t"
		if wide {
			blank += "\t\t"
		}
		if len(m.Versions) == 0 {
			fmt.Fprintf(tw, "%s\t-\tno versions%s\n", name, blank)
		}
		if m.StoreError != "" {
			fmt.Fprintf(tw, "%s\t-\tstore fault%s%s\n", name, blank, errText(m.StoreError))
		}
		for _, v := range m.Versions {
			labels := byVersion[v.Version]
			slices.Sort(labels)
			load := ""
			if v.LoadDuration > 0 {
				load = v.LoadDuration.Round(time.Millisecond).String()
			}
			weight := ""
			for _, wt := range m.Weights {
				if wt.Version == v.Version {
					weight = strconv.Itoa(int(wt.Weight))
				}
			}
			errs := v.Error
			for _, w := range v.Workers {
				if w.State == "failed" {
					// A slot given up after a crash loop, and when it is retried.
					e := fmt.Sprintf("worker %d given up, retried at %s: %s", w.ID, w.RetryAt.UTC().Format(time.RFC3339), w.Error)
					errs = strings.TrimPrefix(errs+"; "+e, "; ")
				}
			}
			if wide {
				loadedAt := "-"
				if !v.LoadedAt.IsZero() {
					loadedAt = v.LoadedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", name, v.Version, v.State, load, loadedAt, v.InFlight, workerSummary(v.Workers), strings.Join(labels, ","), weight, errText(errs))
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", name, v.Version, v.State, load, v.InFlight, strings.Join(labels, ","), weight, errText(errs))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cut {
		_, err := fmt.Fprintln(w, "(errors cut; -o wide prints them in full)")
		return err
	}
	return nil
}

// workerSummary counts a version's workers by state, such as "2 idle,1 busy".
func workerSummary(ws []client.WorkerStatus) string {
	if len(ws) == 0 {
		return "-"
	}
	var order []string
	n := map[string]int{}
	for _, w := range ws {
		if n[w.State] == 0 {
			order = append(order, w.State)
		}
		n[w.State]++
	}
	parts := make([]string, len(order))
	for i, st := range order {
		parts[i] = fmt.Sprintf("%d %s", n[st], st)
	}
	return strings.Join(parts, ",")
}

// waitFlags are the --no-wait flag of the commands that change a policy.
type waitFlags struct{ noWait bool }

func addWait(cmd *cobra.Command) *waitFlags {
	wf := &waitFlags{}
	cmd.Flags().BoolVar(&wf.noWait, "no-wait", false, "return as soon as the change is written to the store, without waiting until the server has acted on it")
	return wf
}

// printState prints a model's state after a change: a summary line, then
// the table (or the JSON/YAML of the model).
func printState(cmd *cobra.Command, out *outputFlag, m client.ModelStatus, summary string) error {
	return out.print(cmd.OutOrStdout(), m, func(w io.Writer) error {
		if summary != "" {
			fmt.Fprintln(w, summary)
		}
		return printModels(w, []client.ModelStatus{m}, out.format == "wide")
	})
}

func servingSummary(m client.ModelStatus) string {
	s := fmt.Sprintf("%s: serving version %d", m.Name, m.ServingVersion)
	if m.ServingVersion == 0 {
		s = m.Name + ": no version serving"
	}
	if m.PinnedVersion > 0 {
		s += fmt.Sprintf(" (pinned to %d)", m.PinnedVersion)
	} else {
		s += " (following the latest)"
	}
	return s
}

func requireModel(model string) error {
	if model == "" {
		return usageErr("--model M is required")
	}
	return nil
}

func switchCmd() *cobra.Command {
	var (
		model   string
		version int64
		latest  bool
	)
	cmd := &cobra.Command{
		Use:   "switch --model M (--version V | --latest) [flags]",
		Short: "pin a model to a version, or follow the latest",
		Long: `Pin a model to one version, or make it follow the latest version again.
Every replica sharing the store follows. By default it waits until that
version serves on this server (and fails with the reason if its load fails)
and prints the state after; --no-wait returns once the store is written.`,
		Example: `  swapwire switch --model digits --version 2
  swapwire switch --model digits --latest
  swapwire switch --model digits --version 3 --no-wait -o json`,
		Args: args(cobra.NoArgs, "--model M and --version V or --latest"),
	}
	cf := addConnFlags(cmd, 10*time.Minute)
	out := addOutput(cmd, "table", "wide", "json", "yaml")
	wf := addWait(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.Flags().Int64Var(&version, "version", 0, "version to pin")
	cmd.Flags().BoolVar(&latest, "latest", false, "follow the latest version")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if model == "" || (version == 0) == !latest {
			return usageErr("want --model M and one of --version V or --latest")
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			m, err := cl.Switch(ctx, model, version, !wf.noWait)
			if err != nil {
				return err
			}
			if !wf.noWait {
				if m, err = cl.Model(ctx, model); err != nil {
					return err
				}
			}
			return printState(cmd, out, m, servingSummary(m))
		})
	}
	return cmd
}

// converge waits, unless --no-wait, until done holds for the model, and
// returns its state then.
func converge(ctx context.Context, cl *client.Client, wf *waitFlags, m client.ModelStatus, done func(client.ModelStatus) (bool, error)) (client.ModelStatus, error) {
	if wf.noWait {
		return m, nil
	}
	return cl.WaitModel(ctx, m.Name, done)
}

// loadedOrFailed reports whether version v of m is loaded, or its load
// failure.
func loadedOrFailed(m client.ModelStatus, v int64) (bool, error) {
	vs, ok := m.Version(v)
	if !ok {
		return false, nil
	}
	switch vs.State {
	case "serving", "standby":
		return true, nil
	case "failed":
		return false, fmt.Errorf("model %s version %d failed to load: %s", m.Name, v, vs.Error)
	}
	return false, nil
}

func labelCmd() *cobra.Command {
	var (
		model, label string
		version      int64
		remove       bool
	)
	cmd := &cobra.Command{
		Use:   "label --model M --label L (--version V | --remove) [flags]",
		Short: "point a label such as canary at a version",
		Long: `Point a named label (such as stable or canary) at a version, or remove it.
Requests may then name the label instead of a version. By default it waits
until the labelled version is loaded and the label is in force, and prints
the state after; --no-wait returns once the store is written.`,
		Example: `  swapwire label --model digits --label canary --version 3
  swapwire predict --model digits --label canary --ints 1,2,3
  swapwire label --model digits --label canary --remove`,
		Args: args(cobra.NoArgs, "--model M --label L and --version V or --remove"),
	}
	cf := addConnFlags(cmd, 10*time.Minute)
	out := addOutput(cmd, "table", "wide", "json", "yaml")
	wf := addWait(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.Flags().StringVar(&label, "label", "", "label name (required)")
	cmd.Flags().Int64Var(&version, "version", 0, "version the label points at")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the label")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if model == "" || label == "" || (version == 0) == !remove {
			return usageErr("want --model M --label L and one of --version V or --remove")
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			m, err := cl.SetLabel(ctx, model, label, version)
			if err != nil {
				return err
			}
			m, err = converge(ctx, cl, wf, m, func(m client.ModelStatus) (bool, error) {
				v, ok := m.Labels[label]
				if remove {
					return !ok, nil
				}
				if loaded, err := loadedOrFailed(m, version); !loaded || err != nil {
					return false, err
				}
				return ok && v == version, nil
			})
			if err != nil {
				return err
			}
			summary := fmt.Sprintf("%s: label %s points at version %d", model, label, version)
			if remove {
				summary = fmt.Sprintf("%s: label %s removed", model, label)
			}
			return printState(cmd, out, m, summary)
		})
	}
	return cmd
}

func splitCmd() *cobra.Command {
	var (
		model string
		clear bool
	)
	cmd := &cobra.Command{
		Use:   "split --model M (VERSION=WEIGHT,... | --clear) [flags]",
		Short: "share a model's traffic among versions by weight (A/B test, canary)",
		Long: `Share the requests that name no version or label among versions by weight,
for an A/B test or a canary; --clear sends all of them to the serving
version again. By default it waits until every weighted version is loaded,
and prints the state after; --no-wait returns once the store is written.`,
		Example: `  swapwire split --model digits 1=90,2=10
  swapwire split --model digits --clear`,
		Args: args(cobra.MaximumNArgs(1), "--model M and either VERSION=WEIGHT,... (such as 3=90,4=10) or --clear"),
	}
	cf := addConnFlags(cmd, 10*time.Minute)
	out := addOutput(cmd, "table", "wide", "json", "yaml")
	wf := addWait(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the split: all traffic to the serving version")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if model == "" || (len(a) == 1) == clear {
			return usageErr("want --model M and either VERSION=WEIGHT,... (such as 3=90,4=10) or --clear")
		}
		var weights []client.VersionWeight
		if !clear {
			for _, part := range strings.Split(a[0], ",") {
				v, w, ok := strings.Cut(part, "=")
				ver, err1 := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				wt, err2 := strconv.ParseInt(strings.TrimSpace(w), 10, 32)
				if !ok || err1 != nil || err2 != nil {
					return usageErr("%q: want VERSION=WEIGHT", part)
				}
				weights = append(weights, client.VersionWeight{Version: ver, Weight: int32(wt)})
			}
		}
		slices.SortFunc(weights, func(a, b client.VersionWeight) int { return int(a.Version - b.Version) })
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			m, err := cl.Split(ctx, model, weights...)
			if err != nil {
				return err
			}
			m, err = converge(ctx, cl, wf, m, func(m client.ModelStatus) (bool, error) {
				if !slices.Equal(m.Weights, weights) {
					return false, nil
				}
				for _, w := range weights {
					if w.Weight == 0 {
						continue
					}
					if loaded, err := loadedOrFailed(m, w.Version); !loaded || err != nil {
						return false, err
					}
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			summary := model + ": traffic split cleared; all to the serving version"
			if !clear {
				summary = fmt.Sprintf("%s: traffic split %s", model, a[0])
			}
			return printState(cmd, out, m, summary)
		})
	}
	return cmd
}

func rollbackCmd() *cobra.Command {
	var model string
	cmd := &cobra.Command{
		Use:   "rollback --model M [flags]",
		Short: "pin a model to the version that served before",
		Long: `Pin a model to the good version that served before the current one. By
default it waits until that version serves and prints the state after;
--no-wait returns once the store is written. Undo with
'swapwire switch --model M --latest'.`,
		Example: `  swapwire rollback --model digits`,
		Args:    args(cobra.NoArgs, "--model M"),
	}
	cf := addConnFlags(cmd, 10*time.Minute)
	out := addOutput(cmd, "table", "wide", "json", "yaml")
	wf := addWait(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if err := requireModel(model); err != nil {
			return err
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			from, to, err := cl.Rollback(ctx, model)
			if err != nil {
				return err
			}
			m := client.ModelStatus{Name: model}
			m, err = converge(ctx, cl, wf, m, func(m client.ModelStatus) (bool, error) {
				if m.ServingVersion == to {
					return true, nil
				}
				_, err := loadedOrFailed(m, to)
				return false, err
			})
			if err != nil {
				return err
			}
			if wf.noWait {
				if m, err = cl.Model(ctx, model); err != nil {
					return err
				}
			}
			return printState(cmd, out, m, fmt.Sprintf("%s: pinned to version %d (was serving %d)", model, to, from))
		})
	}
	return cmd
}

func deleteCmd() *cobra.Command {
	var (
		model   string
		version int64
	)
	cmd := &cobra.Command{
		Use:     "delete --model M --version V [flags]",
		Short:   "delete a model version from the store",
		Long:    `Delete a version from the store. The serving version cannot be deleted.`,
		Example: `  swapwire delete --model digits --version 1`,
		Args:    args(cobra.NoArgs, "--model M --version V"),
	}
	cf := addConnFlags(cmd, 30*time.Second)
	cmd.Flags().StringVar(&model, "model", "", "model name (required)")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.Flags().Int64Var(&version, "version", 0, "version to delete (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if model == "" || version <= 0 {
			return usageErr("want --model M --version V")
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			if err := cl.Delete(ctx, model, version); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s version %d\n", model, version)
			return nil
		})
	}
	return cmd
}
