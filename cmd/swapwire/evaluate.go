package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/client"
	"github.com/swapwire/swapwire/internal/jsonvalue"
)

func evaluateCmd() *cobra.Command {
	var (
		model   string
		version int64
		details bool
	)
	cmd := &cobra.Command{
		Use:   "evaluate DATA.jsonl [flags]",
		Short: "evaluate a model version on labelled examples",
		Long: `Stream labelled examples through a model version and print its accuracy,
per-label precision, recall and F1, and the confusion matrix. DATA.jsonl
holds one example a line: an input ({"ints": [...]}, {"text": "..."},
{"floats": [...]}, {"strings": [...]} or {"bytes": "base64"}), an optional
"option" object, and the expected "label".`,
		Example: `  swapwire evaluate examples/digits/testdata/eval.jsonl --model digits
  swapwire evaluate data.jsonl --model digits --version 2 --details -o json`,
		Args: args(cobra.ExactArgs(1), `one DATA.jsonl file: one {"ints": [...], "label": ...} object per line`),
	}
	cf := addConnFlags(cmd, 10*time.Minute)
	out := addOutput(cmd, "table", "json", "yaml")
	cmd.Flags().StringVar(&model, "model", "", "model name; empty for the default model")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	cmd.Flags().Int64Var(&version, "version", 0, "version; 0 for the serving version")
	cmd.Flags().BoolVar(&details, "details", false, "report every example (the table prints the misclassified ones)")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if err := out.check(); err != nil {
			return err
		}
		f, err := os.Open(a[0])
		if err != nil {
			return err
		}
		defer f.Close()
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			ev, err := cl.Evaluate(ctx, model, version, details, readExamples(f, a[0]))
			if err != nil {
				return err
			}
			return out.print(cmd.OutOrStdout(), ev, func(w io.Writer) error {
				printEvaluation(w, ev)
				return nil
			})
		})
	}
	return cmd
}

// readExamples yields the examples of a JSON-lines file, skipping blank
// lines; a line that does not parse ends it with an error naming the line.
func readExamples(r io.Reader, name string) iter.Seq2[client.Example, error] {
	return func(yield func(client.Example, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			in, opt, label, err := jsonvalue.ParseLabeledExample(sc.Bytes())
			if err != nil {
				yield(client.Example{}, fmt.Errorf("%s line %d: %v", name, line, err))
				return
			}
			if !yield(client.Example{Input: in, Option: opt, Label: label}, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(client.Example{}, err)
		}
	}
}

func printEvaluation(w io.Writer, r client.Evaluation) {
	fmt.Fprintf(w, "model %s version %d: %d examples, %d errors, accuracy %.4f\n\n", r.Model, r.Version, r.Examples, r.Errors, r.Accuracy)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tprecision\trecall\tf1\tsupport\t")
	for _, l := range r.Labels {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\t\n", l.Label, l.Precision, l.Recall, l.F1, l.Support)
	}
	tw.Flush()
	cm := r.Confusion
	if len(cm.Labels) > 0 {
		fmt.Fprintln(w, "\nconfusion (rows: expected, columns: predicted)")
		tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "\t")
		for _, l := range cm.Labels {
			fmt.Fprintf(tw, "%s\t", l)
		}
		fmt.Fprintln(tw)
		for i, row := range cm.Counts {
			fmt.Fprintf(tw, "%s\t", cm.Labels[i])
			for _, c := range row {
				fmt.Fprintf(tw, "%d\t", c)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	for _, d := range r.Details {
		if !d.Correct {
			fmt.Fprintf(w, "example %d: expected %s, predicted %s %s\n", d.Index, d.Expected, d.Predicted, d.Error)
		}
	}
}
