package modelstore

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateModelName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"digits", true},
		{"a", true},
		{"A.b_c-9", true},
		{"9lives", true},
		{"x..y", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/b", false},
		{`a\b`, false},
		{".x", false},
		{".hidden", false},
		{"-flag", false},
		{"a\x00b", false},
		{"a b", false},
		{"caf\u00e9", false},
		{"a:b", false},
	}
	for _, tt := range tests {
		for what, fn := range map[string]func(string) error{"model": ValidateModelName, "label": ValidateLabel} {
			err := fn(tt.name)
			if (err == nil) != tt.ok {
				t.Errorf("%s %q: err = %v, want ok = %v", what, tt.name, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%s %q: err = %v, does not wrap ErrInvalid", what, tt.name, err)
			}
		}
	}
}

func TestValidateVersion(t *testing.T) {
	for v, ok := range map[int64]bool{1: true, 42: true, 1 << 62: true, 0: false, -1: false} {
		err := ValidateVersion(v)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidateVersion(%d) = %v, want ok = %v", v, err, ok)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name string
		v    int64
		ok   bool
	}{
		{"1", 1, true},
		{"10", 10, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"0", 0, false},
		{"007", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.0", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{".tmp-1", 0, false},
		{"1 ", 0, false},
	}
	for _, tt := range tests {
		v, ok := parseVersion(tt.name)
		if v != tt.v || ok != tt.ok {
			t.Errorf("parseVersion(%q) = %d, %v; want %d, %v", tt.name, v, ok, tt.v, tt.ok)
		}
		if ok && versionName(v) != tt.name {
			t.Errorf("versionName(%d) = %q, want %q", v, versionName(v), tt.name)
		}
	}
}
