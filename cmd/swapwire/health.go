package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func runHealth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf connFlags
	cf.register(fs)
	service := fs.String("service", "", "service or model name; empty for the whole server")
	wait := fs.Duration("wait", 0, "keep checking until SERVING or this long has passed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn, err := cf.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(*wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), cf.timeout)
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			fmt.Fprintln(stdout, resp.GetStatus())
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, resp.GetStatus())
			return fmt.Errorf("status %s", resp.GetStatus())
		}
		time.Sleep(100 * time.Millisecond) // a poll of a remote server: no signal to wait on
	}
}
