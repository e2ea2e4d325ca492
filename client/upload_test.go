package client

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// stalling reads an upload's header and then nothing, as a server or a
// link that hangs.
type stalling struct {
	swapwirev1.UnimplementedModelServiceServer
	header chan *swapwirev1.UploadHeader
}

func (s *stalling) UploadModel(stream swapwirev1.ModelService_UploadModelServer) error {
	m, err := stream.Recv()
	if err != nil {
		return err
	}
	s.header <- m.GetHeader()
	<-stream.Context().Done()
	return stream.Context().Err()
}

// TestUploadIdleTimeout checks that an upload that stops moving fails after
// its idle timeout, with an error that says so, though its context has no
// deadline.
func TestUploadIdleTimeout(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	st := &stalling{header: make(chan *swapwirev1.UploadHeader, 1)}
	swapwirev1.RegisterModelServiceServer(srv, st)
	go srv.Serve(lis)
	defer srv.Stop()

	// 16 MiB of random bytes: far more than the transport's windows, so
	// sending blocks once the server stops reading.
	dir := t.TempDir()
	data := make([]byte, 16<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sent int64
	start := time.Now()
	_, err = c.Upload(context.Background(), "m", 0, dir, WithIdleTimeout(500*time.Millisecond), WithProgress(func(n, _ int64) { sent = n }))
	took := time.Since(start)
	if status.Code(err) != codes.DeadlineExceeded || took > 20*time.Second {
		t.Fatalf("upload to a stalled server: %v after %v; want DeadlineExceeded after about 500ms", err, took)
	}
	if want := "upload made no progress for 500ms"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	h := <-st.header
	if h.GetModel() != "m" || h.GetSize() <= int64(len(data)) || len(h.GetSha256()) != 64 {
		t.Fatalf("header %v", h)
	}
	if sent >= h.GetSize() {
		t.Fatalf("all %d bytes were sent to a server that read none", sent)
	}
}
