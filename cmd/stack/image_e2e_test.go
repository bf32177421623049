//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stackhq/stack/internal/testutil"
)

// mustStack runs the binary (testutil.Stack) and fails the test unless it exits 0.
func mustStack(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, errOut, code := testutil.Stack(t, root, args...)
	if code != 0 {
		t.Fatalf("stack %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// busyboxFile writes testutil.BusyboxTar to a file for `stack image import`.
func busyboxFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(p, testutil.BusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImageCLIRoundTrip: import → ls/history/inspect → save → rm → load gives the same ID.
func TestImageCLIRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	id := strings.TrimSpace(mustStack(t, root, "image", "import", "--change", `CMD ["/bin/sh"]`, busyboxFile(t), "localhost/e2e:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import printed %q", id)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(mustStack(t, root, "image", "ls", "--format", "json")), &row); err != nil {
		t.Fatal(err)
	}
	if row["Repository"] != "localhost/e2e" || row["Tag"] != "1" || !strings.HasPrefix(id, "sha256:"+row["ID"]) {
		t.Errorf("ls row %v", row)
	}
	if got := strings.TrimSpace(mustStack(t, root, "image", "inspect", "-f", "{{.Id}} {{json .Config.Cmd}}", "localhost/e2e:1")); got != id+` ["/bin/sh"]` {
		t.Errorf("inspect = %q", got)
	}
	if hist := mustStack(t, root, "image", "history", "localhost/e2e:1"); !strings.Contains(hist, "stack image import") {
		t.Errorf("history:\n%s", hist)
	}
	archive := filepath.Join(t.TempDir(), "e2e.tar")
	mustStack(t, root, "image", "save", "-o", archive, "localhost/e2e:1")
	if out := mustStack(t, root, "image", "rm", "localhost/e2e:1"); !strings.Contains(out, "Deleted: "+id) {
		t.Errorf("rm:\n%s", out)
	}
	if out := mustStack(t, root, "image", "ls", "-q"); out != "" {
		t.Errorf("ls -q after rm: %q", out)
	}
	if out := mustStack(t, root, "image", "load", "-i", archive); !strings.Contains(out, "Loaded image: localhost/e2e:1") {
		t.Errorf("load:\n%s", out)
	}
	if got := strings.TrimSpace(mustStack(t, root, "image", "inspect", "-f", "{{.Id}}", "localhost/e2e:1")); got != id {
		t.Errorf("ID after save/rm/load = %s, want %s", got, id)
	}
	_, errOut, code := testutil.Stack(t, root, "image", "rm", "nosuch:1")
	if code != 1 || !strings.Contains(errOut, "image not found") {
		t.Errorf("rm nosuch: exit %d, %q", code, errOut)
	}
}

// TestImageCLIPull pulls from Debian's docker-registry on 127.0.0.1 (plain HTTP without
// --insecure, as docker does for loopback registries), with plain progress lines.
func TestImageCLIPull(t *testing.T) {
	testutil.RequireRoot(t)
	host := testutil.Registry(t)
	img := testutil.BusyboxImage(t)
	ref, _ := name.ParseReference(host + "/e2e/busybox:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	root := testutil.TempRoot(t)
	out := mustStack(t, root, "image", "pull", host+"/e2e/busybox:1")
	if !strings.Contains(out, "Pull complete") || !strings.HasSuffix(out, host+"/e2e/busybox:1\n") {
		t.Errorf("pull output:\n%s", out)
	}
	wantID, _ := img.ConfigName()
	if got := strings.TrimSpace(mustStack(t, root, "image", "inspect", "-f", "{{.Id}}", host+"/e2e/busybox:1")); got != wantID.String() {
		t.Errorf("ID %s, want %s", got, wantID)
	}
	if out := mustStack(t, root, "image", "pull", host+"/e2e/busybox:1"); !strings.Contains(out, "Already exists") {
		t.Errorf("second pull:\n%s", out)
	}
}

// TestImageRmRefusesImageInUse: an image a container was made from is not removed; with
// -f it is only untagged; once the container is gone, prune removes it.
func TestImageRmRefusesImageInUse(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	id := strings.TrimSpace(mustStack(t, root, "image", "import", busyboxFile(t), "localhost/inuse:1"))
	ctr := strings.TrimSpace(mustStack(t, root, "container", "create", "localhost/inuse:1", "/bin/true"))
	t.Cleanup(func() { testutil.Stack(t, root, "container", "rm", "-f", ctr) })

	_, errOut, code := testutil.Stack(t, root, "image", "rm", "localhost/inuse:1")
	if code != 1 || !strings.Contains(errOut, "in use") {
		t.Fatalf("rm of an image in use: exit %d, %q", code, errOut)
	}
	if out := mustStack(t, root, "image", "rm", "-f", "localhost/inuse:1"); !strings.Contains(out, "Untagged: localhost/inuse:1") || strings.Contains(out, "Deleted") {
		t.Errorf("rm -f of an image in use:\n%s", out)
	}
	if got := strings.TrimSpace(mustStack(t, root, "image", "inspect", "-f", "{{.Id}}", id)); got != id {
		t.Errorf("the image went away under its container: %q", got)
	}
	if out := mustStack(t, root, "image", "prune", "-f"); strings.Contains(out, id) {
		t.Errorf("prune removed an image in use:\n%s", out)
	}
	mustStack(t, root, "container", "rm", ctr)
	if out := mustStack(t, root, "image", "prune", "-f"); !strings.Contains(out, "deleted: "+id) {
		t.Errorf("prune after the container went:\n%s", out)
	}
}
