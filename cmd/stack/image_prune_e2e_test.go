//go:build e2e

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
)

// TestImageBuildIntermediatesCLI: a Dockerfile build's step images are hidden from
// `image ls` (shown with -a), named by `image history`, kept by `image prune` (and so is
// the build cache); a rebuild's replaced result is the only dangling image; an image a
// container uses and the images it was made from survive `prune -a`; removing the result
// removes its steps; prune drops the cache entries of removed images.
func TestImageBuildIntermediatesCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	mustStack(t, root, "image", "import", busyboxFile(t), "localhost/base:1")
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM localhost/base:1\nRUN echo hi > /x\nENV A=1\nCOPY f /f\nCMD [\"cat\", \"/f\"]\n")
	write("f", "one\n")
	build := func() (id, progress string) {
		t.Helper()
		out, errOut, code := testutil.Stack(t, root, "image", "build", "--progress", "plain", "-t", "localhost/app:1", dir)
		if code != 0 {
			t.Fatalf("build: exit %d\n%s", code, errOut)
		}
		return strings.TrimSpace(out), errOut
	}
	lines := func(args ...string) []string {
		t.Helper()
		return strings.Fields(mustStack(t, root, args...))
	}
	first, _ := build()

	if got := lines("image", "ls", "-q"); len(got) != 2 {
		t.Errorf("ls -q = %v, want base and app only", got)
	}
	if ls := mustStack(t, root, "image", "ls"); strings.Contains(ls, "<none>") {
		t.Errorf("ls shows intermediate images:\n%s", ls)
	}
	all := lines("image", "ls", "-a", "-q")
	if len(all) != 5 { // base, RUN, ENV, COPY, CMD
		t.Errorf("ls -a -q = %v, want 5 images", all)
	}
	hist := lines("image", "history", "-q", "localhost/app:1")
	if len(hist) != 5 || strings.Contains(strings.Join(hist, " "), "missing") {
		t.Errorf("history -q = %v, want the 5 images of the chain", hist)
	}
	known := strings.Join(all, " ")
	for _, id := range hist {
		if !strings.Contains(known, id) {
			t.Errorf("history names %s, not in ls -a", id)
		}
	}
	// The steps are parents: rm by ID is refused, prune keeps them and the cache.
	_, errOut, code := testutil.Stack(t, root, "image", "rm", "-f", hist[1])
	if code != 1 || !strings.Contains(errOut, "dependent child images") {
		t.Errorf("rm -f of a build step: exit %d, %q", code, errOut)
	}
	if out := mustStack(t, root, "image", "prune", "-f"); strings.Contains(out, "deleted") || strings.Contains(out, "cache") {
		t.Errorf("prune removed a build's steps:\n%s", out)
	}
	if id, progress := build(); id != first || strings.Count(progress, "CACHED") != 4 {
		t.Fatalf("rebuild after prune: same ID %v, %d CACHED (want 4)\n%s", id == first, strings.Count(progress, "CACHED"), progress)
	}

	// Rebuilt with a changed file: the old result is the one dangling image.
	write("f", "two\n")
	second, _ := build()
	ls := mustStack(t, root, "image", "ls")
	if strings.Count(ls, "<none>") != 2 || !strings.Contains(ls, first[7:19]) { // REPOSITORY and TAG of one row
		t.Errorf("ls after a rebuild, want the old result as <none>:\n%s", ls)
	}
	// It goes, and so does its parent, the old COPY step, dangling once it is gone; the ENV
	// and RUN steps and the base are parents of the new result and stay.
	out := mustStack(t, root, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+first+"\n") || !strings.Contains(out, hist[1]) {
		t.Errorf("prune after a rebuild, want the old result and its COPY step:\n%s", out)
	}
	for _, id := range hist[2:] {
		if strings.Contains(out, id) {
			t.Errorf("prune removed %s, a parent of the new result:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "Deleted build cache objects:") {
		t.Errorf("prune kept the cache entries of the removed image:\n%s", out)
	}

	// A container of the result: rm is refused, prune -a keeps it and its chain.
	ctr := strings.TrimSpace(mustStack(t, root, "container", "create", "localhost/app:1"))
	t.Cleanup(func() { testutil.Stack(t, root, "container", "rm", "-f", ctr) })
	if _, errOut, code := testutil.Stack(t, root, "image", "rm", "localhost/app:1"); code != 1 || !strings.Contains(errOut, "in use") {
		t.Errorf("rm of an image in use: exit %d, %q", code, errOut)
	}
	before := lines("image", "ls", "-a", "-q")
	if out := mustStack(t, root, "image", "prune", "-a", "-f"); strings.Contains(out, "deleted") {
		t.Errorf("prune -a removed an image in use or its parents:\n%s", out)
	}
	if after := lines("image", "ls", "-a", "-q"); len(after) != len(before) {
		t.Errorf("prune -a: %v before, %v after", before, after)
	}

	// Once the container is gone, removing the result removes its steps, not the base.
	mustStack(t, root, "container", "rm", ctr)
	out = mustStack(t, root, "image", "rm", "localhost/app:1")
	if !strings.Contains(out, "Deleted: "+second+"\n") || strings.Count(out, "Deleted: ") < 4 {
		t.Errorf("rm of the result:\n%s", out)
	}
	if got := lines("image", "ls", "-a", "-q"); len(got) != 1 {
		t.Errorf("left after rm: %v, want the base", got)
	}
	mustStack(t, root, "image", "prune", "-f")
	if entries, _ := os.ReadDir(filepath.Join(root, "build-cache")); len(entries) > 1 { // the scratch dir
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("build cache after prune: %v", names)
	}
	if _, progress := build(); strings.Contains(progress, "CACHED") {
		t.Errorf("build after prune hit the cache:\n%s", progress)
	}
}

// TestContainerInspectFormatCLI: container inspect takes -f like docker's, and the fields
// scripts read most are there.
func TestContainerInspectFormatCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	mustStack(t, root, "image", "import", "--change", "EXPOSE 9000", "--change", "STOPSIGNAL SIGQUIT", busyboxFile(t), "localhost/insp:1")
	ctr := strings.TrimSpace(mustStack(t, root, "container", "create", "-p", "127.0.0.1::80", "localhost/insp:1", "sleep", "1"))
	t.Cleanup(func() { testutil.Stack(t, root, "container", "rm", "-f", ctr) })
	got := mustStack(t, root, "container", "inspect", "-f",
		`{{.State.Status}} {{.Platform}} {{.Config.StopSignal}} {{json .Config.ExposedPorts}} {{json .HostConfig.PortBindings}}`, ctr)
	want := `created linux SIGQUIT {"80/tcp":{},"9000/tcp":{}} {"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}` + "\n"
	if got != want {
		t.Errorf("inspect -f = %q, want %q", got, want)
	}
	if _, errOut, code := testutil.Stack(t, root, "container", "inspect", "-f", "{{.Nope", ctr); code == 0 || !strings.Contains(errOut, "--format") {
		t.Errorf("bad template: exit %d, %q", code, errOut)
	}
}
