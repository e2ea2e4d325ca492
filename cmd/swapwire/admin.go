package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

func adminFlags(name string, stderr io.Writer) (*flag.FlagSet, *connFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &connFlags{}
	cf.register(fs)
	return fs, cf
}

func runModels(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("models", stderr)
	model := fs.String("model", "", "only this model")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewModelServiceClient(conn).ListModels(ctx, &swapwirev1.ListModelsRequest{Model: *model})
		if err != nil {
			return err
		}
		printModels(stdout, resp.GetModels())
		return nil
	})
}

func printModels(w io.Writer, models []*swapwirev1.ModelStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVERSION\tSTATE\tLOAD\tIN-FLIGHT\tLABELS\tWEIGHT\tERROR")
	for _, m := range models {
		name := m.GetName()
		if m.GetDefault() {
			name += " (default)"
		}
		if m.GetPinnedVersion() > 0 {
			name += fmt.Sprintf(" [pinned %d]", m.GetPinnedVersion())
		}
		byVersion := map[int64][]string{}
		for l, v := range m.GetLabels() {
			byVersion[v] = append(byVersion[v], l)
		}
		if len(m.GetVersions()) == 0 {
			fmt.Fprintf(tw, "%s\t-\tno versions\t\t\t\t\t\n", name)
		}
		if e := m.GetStoreError(); e != "" {
			fmt.Fprintf(tw, "%s\t-\tstore fault\t\t\t\t\t%s\n", name, oneLine(e))
		}
		for _, v := range m.GetVersions() {
			labels := byVersion[v.GetVersion()]
			sort.Strings(labels)
			load := ""
			if d := v.GetLoadDuration(); d != nil {
				load = d.AsDuration().Round(time.Millisecond).String()
			}
			state := strings.ToLower(strings.TrimPrefix(v.GetState().String(), "VERSION_STATE_"))
			weight := ""
			for _, w := range m.GetWeights() {
				if w.GetVersion() == v.GetVersion() {
					weight = strconv.Itoa(int(w.GetWeight()))
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", name, v.GetVersion(), state, load, v.GetInFlight(), strings.Join(labels, ","), weight, oneLine(v.GetError()))
		}
	}
	tw.Flush()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func runUpload(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("upload", stderr)
	model := fs.String("model", "", "model name (required)")
	version := fs.Int64("version", 0, "version to create; 0 for the next one")
	chunk := fs.Int("chunk", 1<<20, "bytes per message")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || fs.NArg() != 1 {
		return usageErr("want --model M and one PATH")
	}
	if *chunk <= 0 {
		return usageErr("--chunk must be positive")
	}
	// Pack the archive first: its sha256 goes in the header.
	archive, err := os.CreateTemp("", "swapwire-upload-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(archive.Name())
	defer archive.Close()
	h := sha256.New()
	files, err := writeTar(io.MultiWriter(archive, h), fs.Arg(0))
	if err != nil {
		return err
	}
	size, err := archive.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		stream, err := swapwirev1.NewModelServiceClient(conn).UploadModel(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{
			Model: *model, Version: *version, Sha256: sum, Size: size,
		}}}); err != nil {
			return err
		}
		buf := make([]byte, *chunk)
		var sent int64
		for {
			n, rerr := archive.Read(buf)
			if n > 0 {
				if err := stream.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: buf[:n]}}); err != nil {
					// The server ended the stream; CloseAndRecv has its reason.
					break
				}
				sent += int64(n)
				if !*quiet {
					progress(stderr, sent, size)
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				return rerr
			}
		}
		if !*quiet {
			fmt.Fprintln(stderr)
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "uploaded %s version %d: %d files, %d bytes, sha256 %s\n", resp.GetModel(), resp.GetVersion(), files, resp.GetSize(), resp.GetSha256())
		return nil
	})
}

// progress draws a one-line progress bar.
func progress(w io.Writer, done, total int64) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	fmt.Fprintf(w, "\rupload [%s] %3.0f%% %s / %s", bar, frac*100, human(done), human(total))
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// writeTar writes path as a tar archive: a directory's contents relative to
// it, or a single file under its base name. It returns the file count.
func writeTar(w io.Writer, path string) (int, error) {
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

func runSwitch(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("switch", stderr)
	model := fs.String("model", "", "model name (required)")
	version := fs.Int64("version", 0, "version to pin")
	latest := fs.Bool("latest", false, "follow the latest version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || (*version == 0) == !*latest {
		return usageErr("want --model M and one of --version V or --latest")
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewModelServiceClient(conn).SwitchModel(ctx, &swapwirev1.SwitchModelRequest{Model: *model, Version: *version})
		if err != nil {
			return err
		}
		printModels(stdout, []*swapwirev1.ModelStatus{resp.GetStatus()})
		return nil
	})
}

func runLabel(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("label", stderr)
	model := fs.String("model", "", "model name (required)")
	label := fs.String("label", "", "label name (required)")
	version := fs.Int64("version", 0, "version the label points at")
	remove := fs.Bool("remove", false, "remove the label")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *label == "" || (*version == 0) == !*remove {
		return usageErr("want --model M --label L and one of --version V or --remove")
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewModelServiceClient(conn).SetLabel(ctx, &swapwirev1.SetLabelRequest{Model: *model, Label: *label, Version: *version})
		if err != nil {
			return err
		}
		printModels(stdout, []*swapwirev1.ModelStatus{resp.GetStatus()})
		return nil
	})
}

func runSplit(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("split", stderr)
	model := fs.String("model", "", "model name (required)")
	clear := fs.Bool("clear", false, "remove the split: all traffic to the serving version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || (fs.NArg() == 1) == *clear || fs.NArg() > 1 {
		return usageErr("want --model M and either VERSION=WEIGHT,... (such as 3=90,4=10) or --clear")
	}
	var weights []*swapwirev1.VersionWeight
	if !*clear {
		for _, part := range strings.Split(fs.Arg(0), ",") {
			v, w, ok := strings.Cut(part, "=")
			ver, err1 := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			wt, err2 := strconv.ParseInt(strings.TrimSpace(w), 10, 32)
			if !ok || err1 != nil || err2 != nil {
				return usageErr("%q: want VERSION=WEIGHT", part)
			}
			weights = append(weights, &swapwirev1.VersionWeight{Version: ver, Weight: int32(wt)})
		}
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewModelServiceClient(conn).SplitTraffic(ctx, &swapwirev1.SplitTrafficRequest{Model: *model, Weights: weights})
		if err != nil {
			return err
		}
		printModels(stdout, []*swapwirev1.ModelStatus{resp.GetStatus()})
		return nil
	})
}

func runRollback(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("rollback", stderr)
	model := fs.String("model", "", "model name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usageErr("want --model M")
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := swapwirev1.NewModelServiceClient(conn).Rollback(ctx, &swapwirev1.RollbackRequest{Model: *model})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: pinned to version %d (was serving %d)\n", *model, resp.GetToVersion(), resp.GetFromVersion())
		return nil
	})
}

func runDelete(args []string, stdout, stderr io.Writer) error {
	fs, cf := adminFlags("delete", stderr)
	model := fs.String("model", "", "model name (required)")
	version := fs.Int64("version", 0, "version to delete (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *version <= 0 {
		return usageErr("want --model M --version V")
	}
	return cf.call(func(ctx context.Context, conn *grpc.ClientConn) error {
		if _, err := swapwirev1.NewModelServiceClient(conn).DeleteVersion(ctx, &swapwirev1.DeleteVersionRequest{Model: *model, Version: *version}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s version %d\n", *model, *version)
		return nil
	})
}
