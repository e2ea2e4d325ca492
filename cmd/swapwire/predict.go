package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swapwire/swapwire/client"
	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/predict"
)

// predictOutput is what predict prints.
type predictOutput struct {
	Model   string           `json:"model"`
	Version int64            `json:"version"`
	Output  jsonvalue.Object `json:"output"`
	Scores  []float64        `json:"scores,omitempty"`
	Option  map[string]any   `json:"option,omitempty"`
}

func predictCmd() *cobra.Command {
	var (
		model, label, text, ints, floats, strs, bytesFile, option string
		version                                                   int64
	)
	cmd := &cobra.Command{
		Use:   "predict (--text S | --ints 1,2 | --floats 0.5,1 | --strings a,b | --bytes-file F) [flags]",
		Short: "send one prediction and print the answer",
		Long: `Send one input to a model and print the answer: the model and version
that answered, the output value, scores and the model's free-form option.
Give exactly one input flag. The default output is one line of JSON.`,
		Example: `  swapwire predict --model digits --ints 0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0
  swapwire predict --text "great product" --option '{"explain": true}'
  swapwire predict --model digits --label canary --floats 0.5,1 -o yaml
  head -c 1000 image.png | swapwire predict --bytes-file -`,
		Args: args(cobra.NoArgs, "the input in a flag such as --text or --ints"),
	}
	cf := addConnFlags(cmd, 30*time.Second)
	out := addOutput(cmd, "json", "yaml", "table")
	fs := cmd.Flags()
	fs.StringVar(&model, "model", "", "model name; empty for the server's default model")
	cmd.RegisterFlagCompletionFunc("model", completeModels(cf))
	fs.Int64Var(&version, "version", 0, "version to pin; 0 for the serving version")
	fs.StringVar(&label, "label", "", "version label such as canary")
	fs.StringVar(&text, "text", "", "text input")
	fs.StringVar(&ints, "ints", "", "comma-separated integers")
	fs.StringVar(&floats, "floats", "", "comma-separated numbers")
	fs.StringVar(&strs, "strings", "", "comma-separated strings")
	fs.StringVar(&bytesFile, "bytes-file", "", "file whose bytes are the input ('-' for stdin)")
	fs.StringVar(&option, "option", "", "options as a JSON object")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		n := 0
		for _, k := range []string{"text", "ints", "floats", "strings", "bytes-file"} {
			if fs.Changed(k) {
				n++
			}
		}
		if n != 1 {
			return usageErr("give exactly one input: --text, --ints, --floats, --strings or --bytes-file")
		}
		req := client.Request{Model: model, Version: version, Label: label}
		switch {
		case fs.Changed("text"):
			req.Input = predict.Text(text)
		case fs.Changed("ints"):
			v, err := parseInts(ints)
			if err != nil {
				return usageErr("--ints: %v", err)
			}
			req.Input = predict.Ints(v...)
		case fs.Changed("floats"):
			v, err := parseFloats(floats)
			if err != nil {
				return usageErr("--floats: %v", err)
			}
			req.Input = predict.Floats(v...)
		case fs.Changed("strings"):
			req.Input = predict.Strings(strings.Split(strs, ",")...)
		case fs.Changed("bytes-file"):
			var b []byte
			var err error
			if bytesFile == "-" {
				b, err = io.ReadAll(cmd.InOrStdin())
			} else {
				b, err = os.ReadFile(bytesFile)
			}
			if err != nil {
				return err
			}
			req.Input = predict.Bytes(b)
		}
		if option != "" {
			var m map[string]any
			if err := json.Unmarshal([]byte(option), &m); err != nil {
				return usageErr("--option: not a JSON object: %v", err)
			}
			req.Option = m
		}
		return cf.call(cmd, func(ctx context.Context, cl *client.Client) error {
			ans, err := cl.Predict(ctx, req)
			if err != nil {
				return err
			}
			po := predictOutput{Model: ans.Model, Version: ans.Version, Output: jsonvalue.FromValue(ans.Label), Scores: ans.Scores, Option: ans.Option}
			if len(po.Option) == 0 {
				po.Option = nil
			}
			w := cmd.OutOrStdout()
			if out.format == "json" {
				return json.NewEncoder(w).Encode(po) // one line, as before
			}
			return out.print(w, po, func(w io.Writer) error {
				fmt.Fprintf(w, "model %s version %d: %s\n", po.Model, po.Version, ans.Label)
				if len(po.Scores) > 0 {
					fmt.Fprintf(w, "scores %v\n", po.Scores)
				}
				return nil
			})
		})
	}
	return cmd
}

func parseInts(s string) ([]int64, error) {
	parts := strings.Split(s, ",")
	out := make([]int64, 0, len(parts))
	for _, p := range parts {
		v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, 0, len(parts))
	for _, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
