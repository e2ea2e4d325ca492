package serving_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
)

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// TestRunServesUntilSignal runs serving.Run as a main would, predicts
// through it, reads its metrics, sends the process SIGTERM, and checks that
// Run shut down cleanly and said so.
func TestRunServesUntilSignal(t *testing.T) {
	addr, maddr := freeAddr(t), freeAddr(t)
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serving.Run(context.Background(), addr, func() predict.Predictor {
			return predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
				return predict.Result{Label: predict.Text("hi " + in.Text())}, nil
			})
		}, modelstore.NewStatic("m", t.TempDir()),
			serving.WithMetricsAddr(maddr), serving.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	}()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Wait for the listener, then watch health until the model serves.
	// (The watch ends before the signal: an open stream holds a graceful
	// shutdown until its timeout.)
	wctx, wcancel := context.WithCancel(ctx)
	watch, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if st.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}
	wcancel()
	resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(ctx,
		&swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "there"}}})
	if err != nil || resp.GetOutput().GetText() != "hi there" {
		t.Fatalf("predict through Run: %v %v", resp, err)
	}
	mresp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), `swapwire_requests_total{code="OK",model="m",version="1"} 1`) {
		t.Errorf("metrics lack the request:\n%s", body)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after SIGTERM")
	}
	for _, want := range []string{"msg=serving", "msg=\"shutting down\"", "msg=stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("Run's log lacks %s:\n%s", want, logs.String())
		}
	}
}

// TestRunFailsOnABusyAddress returns the listen error at once.
func TestRunFailsOnABusyAddress(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	err = serving.Run(context.Background(), lis.Addr().String(), func() predict.Predictor { return nil },
		modelstore.NewStatic("m", t.TempDir()), serving.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Run on a busy address: %v", err)
	}
}
