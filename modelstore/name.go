package modelstore

import (
	"fmt"
	"strconv"
)

// maxNameLen is the longest model or label name accepted.
const maxNameLen = 128

// ValidateModelName reports whether name can name a model. A valid name is 1
// to 128 characters from [A-Za-z0-9._-] and does not start with '.' or '-',
// so it can never be a path separator, "..", a hidden file or a command-line
// flag. The error wraps ErrInvalid.
func ValidateModelName(name string) error {
	return validateName("model name", name)
}

// ValidateLabel reports whether name can name a label in a Policy. Labels
// follow the same rule as model names. The error wraps ErrInvalid.
func ValidateLabel(name string) error {
	return validateName("label", name)
}

// ValidateVersion reports whether v can number a version: versions are
// positive. The error wraps ErrInvalid.
func ValidateVersion(v int64) error {
	if v <= 0 {
		return fmt.Errorf("%w: version %d: must be positive", ErrInvalid, v)
	}
	return nil
}

func validateName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, maxNameLen)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%w: %s %q starts with %q", ErrInvalid, what, name, name[0])
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: %s %q has character %q at byte %d", ErrInvalid, what, name, c, i)
		}
	}
	return nil
}

// parseVersion returns the version a directory name stands for, and false for
// any name that is not the canonical decimal form of a positive int64. "007",
// "+7", "0", "-1", "7.0", hidden and temporary names are all rejected, so
// every version has exactly one directory name.
func parseVersion(name string) (int64, bool) {
	if name == "" || name[0] < '1' || name[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// versionName is the directory name of version v.
func versionName(v int64) string {
	return strconv.FormatInt(v, 10)
}
