//go:build !linux

package modelstore

import (
	"io/fs"
	"os"
	"time"
)

// changeTime is not read on this system: the verify cache keys on
// identity, size, mode and modification time only.
func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }

// resident cannot tell on this system whether a file's pages are cached,
// so the verify cache never skips a hash here.
func resident(*os.File, int64) bool { return false }
