//go:build e2e

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
)

// `stack image build -q` prints only the ID; a rebuild hits the cache at every step and
// gives the same ID; a Dockerfile error names the line and exits 1.
func TestImageBuildCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nARG MSG=hi\nCOPY msg /msg\nLABEL msg=$MSG\nCMD [\"/msg\"]\n")
	write("msg", "hello\n")

	out, errOut, code := testutil.Stack(t, root, "image", "build", "-q", "-t", "e2e/msg:1", "--build-arg", "MSG=yo", "--label", "k=v", dir)
	if code != 0 || errOut != "" {
		t.Fatalf("build: exit %d, stderr %q", code, errOut)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("-q printed %q, want only the ID", out)
	}
	again, errOut, code := testutil.Stack(t, root, "image", "build", "--progress", "plain", "-t", "e2e/msg:1", "--build-arg", "MSG=yo", "--label", "k=v", dir)
	if code != 0 || again != out {
		t.Fatalf("rebuild: exit %d, ID %q want %q", code, again, out)
	}
	if n := strings.Count(errOut, "CACHED"); n != 4 {
		t.Errorf("rebuild: %d CACHED steps, want 4:\n%s", n, errOut)
	}
	if !strings.Contains(errOut, "naming to e2e/msg:1 done") {
		t.Errorf("no tag line:\n%s", errOut)
	}

	write("Dockerfile", "FROM scratch\nCOPY --link msg /msg\n")
	_, errOut, code = testutil.Stack(t, root, "image", "build", "-q", dir)
	if code != 1 || !strings.Contains(errOut, "Dockerfile:2:") || !strings.Contains(errOut, "--link") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = testutil.Stack(t, root, "image", "build", "--progress", "fancy", dir)
	if code != 1 || !strings.Contains(errOut, "--progress") {
		t.Errorf("bad --progress: exit %d, stderr %q", code, errOut)
	}
}
