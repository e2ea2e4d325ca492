package modelstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/swapwire/swapwire/modelstore"
)

func ExamplePublishDir() {
	ctx := context.Background()
	root, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(root)
	src, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(src)
	_ = os.WriteFile(filepath.Join(src, "weights.bin"), []byte("0123"), 0o644)

	store, err := modelstore.NewLocal(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := modelstore.PublishDir(ctx, store, "digits", 0, src)
	fmt.Println("published version", v, err)

	dir, err := store.Open(ctx, "digits", v)
	fmt.Println(filepath.Base(dir), err)

	// Damage a file: the version no longer opens.
	_ = os.WriteFile(filepath.Join(dir, "weights.bin"), []byte("01234"), 0o644)
	_, err = store.Open(ctx, "digits", v)
	fmt.Println(err)
	// Output:
	// published version 1 <nil>
	// 1 <nil>
	// modelstore: version does not match its manifest: digits/1/weights.bin: size 5, manifest says 4
}
