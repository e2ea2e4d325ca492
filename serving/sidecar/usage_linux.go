package sidecar

import (
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// procUsage returns a process's CPU time (user and system, in seconds) and
// resident memory (bytes) from /proc/<pid>/stat, or zeros when it cannot
// be read (the process is gone).
func procUsage(pid int) (cpuSeconds float64, rssBytes int64) {
	if pid <= 0 {
		return 0, 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime, stime and rss from the text of
// /proc/<pid>/stat. The command name, in parentheses, may hold spaces and
// parentheses itself, so the fields are counted from the last ')': after it
// come state (field 3), ..., utime (14), stime (15), ..., rss (24, pages).
func parseProcStat(s string) (cpuSeconds float64, rssBytes int64) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return 0, 0
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	rss, err3 := strconv.ParseUint(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || rss > 1<<40 {
		return 0, 0
	}
	return float64(utime+stime) / clockTicks, int64(rss) * int64(os.Getpagesize())
}
