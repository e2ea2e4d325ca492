package modelstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

func TestStatic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := modelstore.NewStatic("digits", dir)
	if m, err := s.Models(ctx); err != nil || !slices.Equal(m, []string{"digits"}) {
		t.Errorf("Models = %v, %v", m, err)
	}
	if vs, err := s.Versions(ctx, "digits"); err != nil || !slices.Equal(vs, []int64{1}) {
		t.Errorf("Versions = %v, %v", vs, err)
	}
	if vs, err := s.Versions(ctx, "other"); err != nil || len(vs) != 0 {
		t.Errorf("Versions(other) = %v, %v", vs, err)
	}
	if got, err := s.Open(ctx, "digits", 1); err != nil || got != dir {
		t.Errorf("Open = %q, %v; want %q", got, err, dir)
	}
	for _, c := range []struct {
		model string
		v     int64
	}{{"digits", 2}, {"other", 1}} {
		if _, err := s.Open(ctx, c.model, c.v); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Open(%s, %d) = %v, want ErrNotFound", c.model, c.v, err)
		}
	}
	if p, err := s.Policy(ctx, "digits"); err != nil || p.Pinned != 0 || p.Labels != nil {
		t.Errorf("Policy = %+v, %v", p, err)
	}
	if _, err := s.Begin(ctx, "digits"); !errors.Is(err, modelstore.ErrReadOnly) {
		t.Errorf("Begin = %v, want ErrReadOnly", err)
	}
	if err := s.Delete(ctx, "digits", 1); !errors.Is(err, modelstore.ErrReadOnly) {
		t.Errorf("Delete = %v, want ErrReadOnly", err)
	}
	if err := s.SetPolicy(ctx, "digits", modelstore.Policy{}); !errors.Is(err, modelstore.ErrReadOnly) {
		t.Errorf("SetPolicy = %v, want ErrReadOnly", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	ch, err := s.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("Static Watch fired before ctx ended")
	default:
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Error("Static Watch sent a value; want only a close")
	}
}
