//go:build !unix

package modelstore

import (
	"context"
	"errors"
)

// lockFile is not implemented here: without a cross-process lock a policy
// update could be lost, so it fails instead.
func lockFile(ctx context.Context, path string) (func(), error) {
	return nil, errors.New("policy locking is supported on unix systems only")
}
