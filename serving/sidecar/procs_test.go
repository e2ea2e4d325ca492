package sidecar

import "testing"

func TestServerProcs(t *testing.T) {
	for _, tc := range []struct{ cpus, workers, want int }{
		{cpus: 2, workers: 2, want: 1},
		{cpus: 2, workers: 1, want: 1},
		{cpus: 2, workers: 0, want: 1}, // one worker per CPU
		{cpus: 8, workers: 2, want: 6},
		{cpus: 8, workers: 0, want: 1},
		{cpus: 4, workers: 6, want: 1},
		{cpus: 1, workers: 1, want: 1},
	} {
		if got := ServerProcs(tc.cpus, tc.workers); got != tc.want {
			t.Errorf("ServerProcs(%d, %d) = %d, want %d", tc.cpus, tc.workers, got, tc.want)
		}
	}
}
