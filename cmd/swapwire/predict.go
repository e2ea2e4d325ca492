package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	"google.golang.org/grpc"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// predictOutput is what predict prints.
type predictOutput struct {
	Model   string           `json:"model"`
	Version int64            `json:"version"`
	Output  jsonvalue.Object `json:"output"`
	Scores  []float64        `json:"scores,omitempty"`
	Option  map[string]any   `json:"option,omitempty"`
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf connFlags
	cf.register(fs)
	model := fs.String("model", "", "model name; empty for the server's default model")
	version := fs.Int64("version", 0, "version to pin; 0 for the serving version")
	label := fs.String("label", "", "version label such as canary")
	text := fs.String("text", "", "text input")
	ints := fs.String("ints", "", "comma-separated integers")
	floats := fs.String("floats", "", "comma-separated numbers")
	strs := fs.String("strings", "", "comma-separated strings")
	bytesFile := fs.String("bytes-file", "", "file whose bytes are the input ('-' for stdin)")
	option := fs.String("option", "", "options as a JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	n := 0
	for _, k := range []string{"text", "ints", "floats", "strings", "bytes-file"} {
		if set[k] {
			n++
		}
	}
	if n != 1 {
		return usageErr("give exactly one input: --text, --ints, --floats, --strings or --bytes-file")
	}
	var in predict.Value
	switch {
	case set["text"]:
		in = predict.Text(*text)
	case set["ints"]:
		v, err := parseInts(*ints)
		if err != nil {
			return usageErr("--ints: %v", err)
		}
		in = predict.Ints(v...)
	case set["floats"]:
		v, err := parseFloats(*floats)
		if err != nil {
			return usageErr("--floats: %v", err)
		}
		in = predict.Floats(v...)
	case set["strings"]:
		in = predict.Strings(strings.Split(*strs, ",")...)
	case set["bytes-file"]:
		var b []byte
		var err error
		if *bytesFile == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(*bytesFile)
		}
		if err != nil {
			return err
		}
		in = predict.Bytes(b)
	}
	req := &swapwirev1.PredictRequest{Model: *model, Version: *version, Label: *label, Input: valueconv.ValueToProto(in)}
	if *option != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(*option), &m); err != nil {
			return usageErr("--option: not a JSON object: %v", err)
		}
		st, err := structpb.NewStruct(m)
		if err != nil {
			return usageErr("--option: %v", err)
		}
		req.Option = st
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(ctx, req)
		if err != nil {
			return err
		}
		out, err := valueconv.ValueFromProto(resp.GetOutput())
		if err != nil {
			return fmt.Errorf("answer: %v", err)
		}
		po := predictOutput{
			Model:   resp.GetModel(),
			Version: resp.GetVersion(),
			Output:  jsonvalue.FromValue(out),
			Scores:  resp.GetScores(),
			Option:  resp.GetOption().AsMap(),
		}
		if len(po.Option) == 0 {
			po.Option = nil
		}
		enc := json.NewEncoder(stdout)
		return enc.Encode(po)
	})
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
