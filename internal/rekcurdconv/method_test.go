package rekcurdconv

import (
	"testing"

	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

// TestMethodsCoverService checks that ParseMethod understands every method
// of the generated RekcurdWorker service, and MethodName inverts it.
func TestMethodsCoverService(t *testing.T) {
	desc := rekcurdpb.RekcurdWorker_ServiceDesc
	if desc.ServiceName != "rekcurd.RekcurdWorker" {
		t.Fatalf("service name %q", desc.ServiceName)
	}
	names := map[string]bool{}
	for _, m := range desc.Methods {
		names[m.MethodName] = true
	}
	for _, s := range desc.Streams {
		names[s.StreamName] = true
		in, out, _ := ParseMethod(s.StreamName)
		if s.ClientStreams != (in == FormBytes) || s.ServerStreams != (out == FormBytes) {
			t.Errorf("%s: client streams %v, server streams %v", s.StreamName, s.ClientStreams, s.ServerStreams)
		}
	}
	if len(names) != 25 {
		t.Fatalf("service has %d methods, want 25", len(names))
	}
	for name := range names {
		in, out, ok := ParseMethod(name)
		if !ok || MethodName(in, out) != name {
			t.Errorf("ParseMethod(%q) = %v, %v, %v", name, in, out, ok)
		}
		full := "/" + desc.ServiceName + "/" + name
		if in2, out2, ok := ParseMethod(full); !ok || in2 != in || out2 != out {
			t.Errorf("ParseMethod(%q) = %v, %v, %v", full, in2, out2, ok)
		}
	}
}

func TestParseMethodRejects(t *testing.T) {
	for _, s := range []string{"", "Predict", "Predict_String", "Predict_String_", "Predict__String",
		"Predict_Str_String", "predict_String_String", "Predict_String_String_String",
		"/other.Service/Predict_String_String", "/rekcurd.RekcurdDashboard/Predict_String_String"} {
		if in, out, ok := ParseMethod(s); ok {
			t.Errorf("ParseMethod(%q) = %v, %v, true", s, in, out)
		}
	}
}

func TestForm(t *testing.T) {
	want := map[Form][2]string{
		FormString: {"String", "text"}, FormBytes: {"Bytes", "bytes"}, FormArrInt: {"ArrInt", "ints"},
		FormArrFloat: {"ArrFloat", "floats"}, FormArrString: {"ArrString", "strings"},
		0: {"", "none"}, 9: {"", "none"},
	}
	for f, w := range want {
		if f.String() != w[0] || f.Kind().String() != w[1] {
			t.Errorf("Form(%d) = %q, %v; want %q, %s", f, f.String(), f.Kind(), w[0], w[1])
		}
	}
	if got := MethodName(0, FormString); got != "" {
		t.Errorf("MethodName(invalid) = %q", got)
	}
	if HeaderServiceLevel != "x-rekcurd-sevice-level" || GRPCVersion != "v2" {
		t.Errorf("header %q version %q", HeaderServiceLevel, GRPCVersion)
	}
}
