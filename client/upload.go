package client

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// UploadResult reports a published version.
type UploadResult struct {
	Model   string `json:"model"`
	Version int64  `json:"version"`
	SHA256  string `json:"sha256"` // of the uploaded archive
	Size    int64  `json:"size"`   // archive bytes
	Files   int64  `json:"files"`
}

// UploadOption configures Upload.
type UploadOption interface{ applyUpload(*uploadConfig) }

type uploadConfig struct {
	chunk    int
	idle     time.Duration
	progress func(sent, total int64)
}

type uploadOptionFunc func(*uploadConfig)

func (f uploadOptionFunc) applyUpload(c *uploadConfig) { f(c) }

// DefaultIdleTimeout is how long an upload may make no progress before it
// fails, unless WithIdleTimeout says otherwise.
const DefaultIdleTimeout = time.Minute

// WithChunkSize sets the bytes sent per message (default 1 MiB).
func WithChunkSize(n int) UploadOption {
	return uploadOptionFunc(func(c *uploadConfig) {
		if n > 0 {
			c.chunk = n
		}
	})
}

// WithIdleTimeout fails the upload when no chunk could be sent, or no
// answer came, for d; 0 for no bound. The whole upload is bounded only by
// the context, so a large model on a slow link goes through as long as it
// moves.
func WithIdleTimeout(d time.Duration) UploadOption {
	return uploadOptionFunc(func(c *uploadConfig) { c.idle = d })
}

// WithProgress calls fn after each chunk with the bytes sent and the total.
func WithProgress(fn func(sent, total int64)) UploadOption {
	return uploadOptionFunc(func(c *uploadConfig) { c.progress = fn })
}

// ErrIdle is the cause of an upload that made no progress for its idle
// timeout.
var ErrIdle = errors.New("upload made no progress")

// Upload publishes path (a directory, or a single file) as a new version of
// model; version 0 takes the next free number. Nothing becomes visible in
// the store unless the whole archive arrives intact.
func (c *Client) Upload(ctx context.Context, model string, version int64, path string, opts ...UploadOption) (UploadResult, error) {
	// Pack the archive first: its sha256 and size go in the header.
	archive, err := os.CreateTemp("", "swapwire-upload-*.tar")
	if err != nil {
		return UploadResult{}, err
	}
	defer os.Remove(archive.Name())
	defer archive.Close()
	h := sha256.New()
	if _, err := WriteTar(io.MultiWriter(archive, h), path); err != nil {
		return UploadResult{}, err
	}
	size, err := archive.Seek(0, io.SeekCurrent)
	if err != nil {
		return UploadResult{}, err
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return UploadResult{}, err
	}
	return c.UploadArchive(ctx, model, version, archive, size, hex.EncodeToString(h.Sum(nil)), opts...)
}

// UploadArchive sends an uncompressed tar archive of size bytes whose
// sha256 (hex) is sum, as Upload does after packing.
func (c *Client) UploadArchive(ctx context.Context, model string, version int64, archive io.Reader, size int64, sum string, opts ...UploadOption) (UploadResult, error) {
	cfg := uploadConfig{chunk: 1 << 20, idle: DefaultIdleTimeout}
	for _, o := range opts {
		o.applyUpload(&cfg)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	kick := func() {}
	if cfg.idle > 0 {
		idle := time.AfterFunc(cfg.idle, func() { cancel(fmt.Errorf("%w for %v", ErrIdle, cfg.idle)) })
		defer idle.Stop()
		kick = func() { idle.Reset(cfg.idle) }
	}
	res, err := c.upload(ctx, model, version, archive, size, sum, cfg, kick)
	if err != nil && errors.Is(context.Cause(ctx), ErrIdle) {
		return res, status.Errorf(codes.DeadlineExceeded, "%v; the server or the link stalled (raise --idle-timeout for a slow link)", context.Cause(ctx))
	}
	return res, err
}

func (c *Client) upload(ctx context.Context, model string, version int64, archive io.Reader, size int64, sum string, cfg uploadConfig, kick func()) (UploadResult, error) {
	stream, err := c.admin.UploadModel(ctx)
	if err != nil {
		return UploadResult{}, err
	}
	if err := stream.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{
		Model: model, Version: version, Sha256: sum, Size: size,
	}}}); err != nil {
		_, rerr := stream.CloseAndRecv()
		return UploadResult{}, firstErr(rerr, err)
	}
	kick()
	buf := make([]byte, cfg.chunk)
	var sent int64
	for {
		n, rerr := archive.Read(buf)
		if n > 0 {
			if err := stream.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break // the server ended the stream; CloseAndRecv has its reason
			}
			kick()
			sent += int64(n)
			if cfg.progress != nil {
				cfg.progress(sent, size)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return UploadResult{}, rerr
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return UploadResult{}, err
	}
	return UploadResult{Model: resp.GetModel(), Version: resp.GetVersion(), SHA256: resp.GetSha256(), Size: resp.GetSize(), Files: resp.GetFiles()}, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// WriteTar writes path to w as an uncompressed tar archive, the format
// UploadArchive sends: a directory's contents relative to it, or a single
// file under its base name. Only directories and regular files are
// accepted. It returns the number of files.
func WriteTar(w io.Writer, path string) (int, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	tw := tar.NewWriter(w)
	files := 0
	add := func(p, name string, fi fs.FileInfo) error {
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(name)
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		if fi.IsDir() {
			return tw.WriteHeader(hdr)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: only directories and regular files can be uploaded", p)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(tw, f); err != nil {
			return err
		}
		files++
		return nil
	}
	if !info.IsDir() {
		if err := add(path, filepath.Base(path), info); err != nil {
			return 0, err
		}
	} else {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(path, p)
			if err != nil || rel == "." {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return add(p, rel, fi)
		})
		if err != nil {
			return 0, err
		}
	}
	if files == 0 {
		return 0, fmt.Errorf("%s holds no files", path)
	}
	return files, tw.Close()
}
