package main

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stackhq/stack/runtime/image"
)

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 4257000: "4.26MB", 1_500_000_000: "1.5GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// runStack runs the root command in-process with a store root of the test's own.
func runStack(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetArgs(append([]string{"--root", t.TempDir()}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func TestImageCommandsInProcess(t *testing.T) {
	root := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "hello", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetIn(bytes.NewReader(stdin))
		cmd.SetArgs(append([]string{"--root", root}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("stack %v: %v", args, err)
		}
		return out.String()
	}
	id := strings.TrimSpace(run(buf.Bytes(), "image", "import", "-", "app:1"))
	run(nil, "image", "tag", "app:1", "localhost:5000/app:2")
	ls := run(nil, "image", "ls")
	if !strings.HasPrefix(ls, "REPOSITORY") || !strings.Contains(ls, "docker.io/library/app") || !strings.Contains(ls, "localhost:5000/app") {
		t.Errorf("ls:\n%s", ls)
	}
	if got := run(nil, "image", "ls", "-q"); got != id[7:19]+"\n" {
		t.Errorf("ls -q = %q (one line per image)", got)
	}
	if got := run(nil, "image", "ls", "--format", "json", "localhost:5000/app"); strings.Count(got, "\n") != 1 || !strings.Contains(got, `"Tag":"2"`) {
		t.Errorf("ls filtered json = %q", got)
	}
	if got := run(nil, "image", "ls", "-q", "app:9"); got != "" {
		t.Errorf("ls app:9 = %q", got)
	}
	if got := run(nil, "image", "history", "-q", "app:1"); got != id[7:19]+"\n" {
		t.Errorf("history -q = %q", got)
	}
	if got := run([]byte("n\n"), "image", "prune", "-a"); strings.Contains(got, "deleted") {
		t.Errorf("prune answered no, still deleted:\n%s", got)
	}
}

func TestImageFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"image", "pull", "--platform", "nonsense", "x"}, "--platform"},
		{[]string{"image", "ls", "--format", "yaml"}, "--format"},
		{[]string{"image", "history", "--format", "yaml", "x"}, "--format"},
	} {
		_, err := runStack(t, nil, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("stack %v: %v, want an error naming %s", c.args, err, c.flag)
		}
	}
}

// TestImageIntermediatesInProcess: a chain of images made by Create (what a build leaves)
// is listed as docker lists it, pruned as docker prunes it, and its build cache entries go
// with its images.
func TestImageIntermediatesInProcess(t *testing.T) {
	root := t.TempDir()
	s, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(parent *image.Image, by string, tags ...string) *image.Image {
		t.Helper()
		img, err := s.Create(ctx, image.CreateOptions{Parent: parent, Tags: tags,
			History: []v1.History{{CreatedBy: by, EmptyLayer: true}}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	s1 := step(nil, "ENV A=1")
	s2 := step(s1, "ENV B=2")
	app := step(s2, "CMD x", "app:1")
	// A build cache entry per step, as runtime/build writes them (key → image ID).
	cache := filepath.Join(root, "build-cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	for key, img := range map[string]*image.Image{"k1": s1, "k2": s2, "k3": app} {
		if err := os.WriteFile(filepath.Join(cache, key), []byte(img.ID+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--root", root}, args...))
		err := cmd.Execute()
		return out.String(), err
	}
	short := func(imgs ...*image.Image) string {
		var b strings.Builder
		for _, img := range imgs {
			b.WriteString(img.ShortID() + "\n")
		}
		return b.String()
	}
	if got, _ := run("image", "ls", "-q"); got != short(app) {
		t.Errorf("ls -q = %q, want only the tagged image", got)
	}
	if got, _ := run("image", "ls", "-a", "-q"); strings.Count(got, "\n") != 3 {
		t.Errorf("ls -a -q = %q, want all three", got)
	}
	if got, _ := run("image", "history", "-q", "app:1"); got != short(app, s2, s1) {
		t.Errorf("history -q = %q, want the chain %q", got, short(app, s2, s1))
	}
	if got, _ := run("image", "inspect", "-f", "{{.Parent}}", "app:1", s1.ID); got != s2.ID+"\n\n" {
		t.Errorf("inspect Parent = %q, want %s and none", got, s2.ID)
	}
	if out, err := run("image", "rm", s1.ID); err == nil || !strings.Contains(out, "dependent child images") {
		t.Errorf("rm of a parent: %v\n%s", err, out)
	}
	// Nothing is dangling: prune removes nothing, and every cache entry stays.
	if out, err := run("image", "prune", "-f"); err != nil || strings.Contains(out, "deleted") || strings.Contains(out, "cache") {
		t.Errorf("prune of a build's steps: %v\n%s", err, out)
	}
	// Untag the result: it and its steps are dangling now (--no-prune keeps the steps), and
	// prune takes them, and their cache entries.
	if out, err := run("image", "rm", "--no-prune", "app:1"); err != nil || strings.Count(out, "Deleted: ") != 1 {
		t.Fatalf("rm --no-prune: %v\n%s", err, out)
	}
	if got, _ := run("image", "ls", "-q"); got != short(s2) {
		t.Errorf("ls -q after rm --no-prune = %q, want the dangling step", got)
	}
	out, err := run("image", "prune", "-f")
	if err != nil || !strings.Contains(out, "deleted: "+s2.ID+"\ndeleted: "+s1.ID+"\n") {
		t.Errorf("prune of dangling steps: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Deleted build cache objects:\nk1\nk2\nk3\n") {
		t.Errorf("prune did not drop the cache entries:\n%s", out)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("%d cache entries left", len(entries))
	}
}

// The prune commands ask first, as Docker's do, unless -f: a "no" (or a closed input)
// removes nothing, "y" goes on.
func TestPruneAsks(t *testing.T) {
	for _, args := range [][]string{{"network", "prune"}, {"volume", "prune"}, {"volume", "prune", "-a"}, {"image", "prune"}} {
		out, err := runStack(t, []byte("n\n"), args...)
		if err != nil || !strings.Contains(out, "WARNING! This will remove") || !strings.HasSuffix(out, "[y/N] ") {
			t.Errorf("%v: %q %v, want only the question", args, out, err)
		}
	}
	var b bytes.Buffer
	if !confirmPrune(strings.NewReader("yes\n"), &b, "x") || confirmPrune(strings.NewReader(""), &b, "x") {
		t.Error("confirmPrune: yes must go on, a closed input must not")
	}
}
