package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/internal/valueconv"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

func runEvaluate(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("evaluate", stderr)
	model := fs.String("model", "", "model name; empty for the default model")
	version := fs.Int64("version", 0, "version; 0 for the serving version")
	details := fs.Bool("details", false, "print every misclassified example")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("want one DATA.jsonl file: one {\"ints\": [...], \"label\": ...} object per line")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		stream, err := swapwirev1.NewModelServiceClient(conn).EvaluateModel(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&swapwirev1.EvaluateModelRequest{Kind: &swapwirev1.EvaluateModelRequest_Header{Header: &swapwirev1.EvaluationHeader{
			Model: *model, Version: *version, Details: *details,
		}}}); err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			in, opt, label, err := jsonvalue.ParseLabeledExample(sc.Bytes())
			if err != nil {
				return fmt.Errorf("%s line %d: %v", fs.Arg(0), line, err)
			}
			o, err := valueconv.OptionToProto(opt)
			if err != nil {
				return fmt.Errorf("%s line %d: option: %v", fs.Arg(0), line, err)
			}
			ex := &swapwirev1.LabelledExample{Input: valueconv.ValueToProto(in), Option: o, Label: valueconv.ValueToProto(label)}
			if err := stream.Send(&swapwirev1.EvaluateModelRequest{Kind: &swapwirev1.EvaluateModelRequest_Example{Example: ex}}); err != nil {
				break // the server ended the stream; CloseAndRecv has its reason
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		printEvaluation(stdout, resp)
		return nil
	})
}

func printEvaluation(w io.Writer, r *swapwirev1.EvaluateModelResponse) {
	fmt.Fprintf(w, "model %s version %d: %d examples, %d errors, accuracy %.4f\n\n", r.GetModel(), r.GetVersion(), r.GetExamples(), r.GetErrors(), r.GetAccuracy())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tprecision\trecall\tf1\tsupport\t")
	for _, l := range r.GetLabels() {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\t\n", l.GetLabel(), l.GetPrecision(), l.GetRecall(), l.GetF1(), l.GetSupport())
	}
	tw.Flush()
	cm := r.GetConfusion()
	if len(cm.GetLabels()) > 0 {
		fmt.Fprintln(w, "\nconfusion (rows: expected, columns: predicted)")
		tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "\t")
		for _, l := range cm.GetLabels() {
			fmt.Fprintf(tw, "%s\t", l)
		}
		fmt.Fprintln(tw)
		for i, row := range cm.GetRows() {
			fmt.Fprintf(tw, "%s\t", cm.GetLabels()[i])
			for _, c := range row.GetCounts() {
				fmt.Fprintf(tw, "%d\t", c)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	for _, d := range r.GetDetails() {
		if !d.GetCorrect() {
			fmt.Fprintf(w, "example %d: expected %s, predicted %s %s\n", d.GetIndex(), d.GetExpected(), d.GetPredicted(), d.GetError())
		}
	}
}
