package rekcurdconv

import (
	"strings"

	"github.com/swapwire/swapwire/predict"
)

// Metadata headers a Rekcurd client sends with every call. The service
// level header is misspelt ("sevice") in Rekcurd itself; it is kept so.
const (
	HeaderApplicationName = "x-rekcurd-application-name"
	HeaderServiceLevel    = "x-rekcurd-sevice-level"
	HeaderGRPCVersion     = "x-rekcurd-grpc-version"
)

// GRPCVersion is the Rekcurd protocol version the rekcurdpb messages
// describe, as a client announces it in [HeaderGRPCVersion].
const GRPCVersion = "v2"

// Form is one of the five input and output forms of the Rekcurd worker
// methods.
type Form uint8

// The forms, named as in the Rekcurd method names. The zero Form is invalid.
const (
	FormString    Form = iota + 1 // a string
	FormBytes                     // bytes, streamed
	FormArrInt                    // repeated int32
	FormArrFloat                  // repeated float
	FormArrString                 // repeated string
)

var formNames = [...]string{"", "String", "Bytes", "ArrInt", "ArrFloat", "ArrString"}

var formKinds = [...]predict.Kind{
	predict.KindNone, predict.KindText, predict.KindBytes,
	predict.KindInts, predict.KindFloats, predict.KindStrings,
}

// String returns the form's name as it appears in method names, such as
// "ArrInt", or "" for an invalid Form.
func (f Form) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return ""
}

// Kind returns the predict.Kind an input of this form becomes: text, bytes,
// ints, floats or strings; KindNone for an invalid Form.
func (f Form) Kind() predict.Kind {
	if int(f) < len(formKinds) {
		return formKinds[f]
	}
	return predict.KindNone
}

func parseForm(s string) (Form, bool) {
	for i, n := range formNames {
		if i != 0 && n == s {
			return Form(i), true
		}
	}
	return 0, false
}

// MethodName returns the worker method for an input and an output form,
// such as "Predict_String_ArrInt", or "" when either form is invalid.
func MethodName(in, out Form) string {
	if in.String() == "" || out.String() == "" {
		return ""
	}
	return "Predict_" + in.String() + "_" + out.String()
}

// ParseMethod returns the forms of a worker method. It accepts the bare
// name ("Predict_String_ArrInt") and the full gRPC method
// ("/rekcurd.RekcurdWorker/Predict_String_ArrInt"); ok is false for
// anything else.
func ParseMethod(name string) (in, out Form, ok bool) {
	if rest, found := strings.CutPrefix(name, "/rekcurd.RekcurdWorker/"); found {
		name = rest
	} else if strings.HasPrefix(name, "/") {
		return 0, 0, false
	}
	rest, found := strings.CutPrefix(name, "Predict_")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "_")
	if !found {
		return 0, 0, false
	}
	in, okIn := parseForm(a)
	out, okOut := parseForm(b)
	if !okIn || !okOut {
		return 0, 0, false
	}
	return in, out, true
}
