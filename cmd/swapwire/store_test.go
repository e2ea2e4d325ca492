package main

import (
	"strings"
	"testing"
)

func TestParseStoreURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want storeURL
		err  string
	}{
		{in: "/srv/models", want: storeURL{dir: "/srv/models"}},
		{in: "models", want: storeURL{dir: "models"}},
		{in: "file:///srv/models", want: storeURL{dir: "/srv/models"}},
		{in: "file://localhost/srv/models", want: storeURL{dir: "/srv/models"}},
		{in: "s3://my-bucket", want: storeURL{bucket: "my-bucket"}},
		{in: "s3://my-bucket/", want: storeURL{bucket: "my-bucket"}},
		{in: "s3://my.bucket/team/models", want: storeURL{bucket: "my.bucket", prefix: "team/models"}},
		{in: "", err: "empty"},
		{in: "file://host/x", err: "names host"},
		{in: "file://", err: "want file:///path"},
		{in: "s3://", err: "bucket name"},
		{in: "s3://AB/x", err: "bucket name"},
		{in: "s3://key:secret@bucket/x", err: "bucket name"},
		{in: "s3://bucket//x", err: "single slashes"},
		{in: "s3://bucket/x?versionId=1", err: "single slashes"},
		{in: "gs://bucket/x", err: "want a directory"},
	} {
		got, err := parseStoreURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseStoreURL(%q) = %+v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseStoreURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseStoreURL: any input gives a directory, or a valid bucket with a
// clean prefix, or an error; never both kinds, never a secret-looking
// bucket.
func FuzzParseStoreURL(f *testing.F) {
	for _, s := range []string{"/srv/m", "file:///srv/m", "s3://bucket/prefix/a", "s3://a:b@c/d", "s3://bucket//x", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := parseStoreURL(in)
		if err != nil {
			return
		}
		if (u.dir == "") == (u.bucket == "") {
			t.Fatalf("parseStoreURL(%q) = %+v: want exactly one of dir and bucket", in, u)
		}
		if u.bucket != "" {
			if validBucket(u.bucket) != nil || strings.Contains(u.prefix, "//") || strings.HasPrefix(u.prefix, "/") {
				t.Fatalf("parseStoreURL(%q) = %+v: invalid bucket or prefix", in, u)
			}
		}
	})
}
