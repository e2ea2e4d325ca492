package main

import (
	"io"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	return usageErr("serve is not built yet")
}
