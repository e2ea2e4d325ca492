package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PublishDir copies src into a new version of model in s and commits it as
// version (0 for the next free number), returning the version committed.
// src is a directory, whose tree is copied (a top-level MANIFEST.json in it
// is skipped: Commit writes a fresh one), or a single regular file, copied
// under its base name. Symbolic links and special files in src are errors.
// On any error the transaction is aborted and nothing becomes visible.
func PublishDir(ctx context.Context, s Store, model string, version int64, src string) (v int64, err error) {
	info, err := os.Lstat(src)
	if err != nil {
		return 0, fmt.Errorf("modelstore: publish: %w", err)
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return 0, fmt.Errorf("modelstore: publish: %s: %w", src, errNotRegular)
	}
	tx, err := s.Begin(ctx, model)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			if aerr := tx.Abort(); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
	}()
	if info.IsDir() {
		err = copyTree(ctx, src, tx.Dir())
	} else {
		if info.Name() == ManifestName {
			return 0, fmt.Errorf("%w: publish: %s is reserved for the manifest", ErrInvalid, ManifestName)
		}
		err = copyFile(ctx, src, filepath.Join(tx.Dir(), info.Name()))
	}
	if err != nil {
		return 0, fmt.Errorf("modelstore: publish %s: %w", model, err)
	}
	return tx.Commit(ctx, version)
}

// copyTree copies the regular files and directories under src into dst,
// which exists.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: %w", p, errNotRegular)
		case rel == ManifestName:
			return nil
		}
		return copyFile(ctx, p, target)
	})
}

// copyFile copies the regular file src to the new file dst.
func copyFile(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := copyCtx(ctx, out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
