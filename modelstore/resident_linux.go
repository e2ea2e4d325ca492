//go:build linux

package modelstore

import (
	"io/fs"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// changeTime returns a file's inode change time (st_ctim). Every write,
// truncation, rename onto it and time change (os.Chtimes included) sets
// it to the current time, and no system call sets it back.
func changeTime(info fs.FileInfo) (time.Time, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)), true
}

// resident reports whether every page of f, size bytes long, is in the
// page cache, so that reading it copies memory and reads nothing from the
// disk. It maps the file without touching it and asks mincore(2); any
// failure answers false.
func resident(f *os.File, size int64) bool {
	if size == 0 {
		return true
	}
	if size < 0 || size != int64(int(size)) {
		return false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return false
	}
	defer syscall.Munmap(data)
	pg := os.Getpagesize()
	vec := make([]byte, (len(data)+pg-1)/pg)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return false
	}
	for _, b := range vec {
		if b&1 == 0 {
			return false
		}
	}
	return true
}
