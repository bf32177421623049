//go:build e2e

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stackhq/stack/internal/testutil"
)

// port prints the host address a container port is published on; an unpublished port is
// an error naming the published ones.
func TestE2EPort(t *testing.T) {
	port := freePort(t)
	st := newE2EStack(t, fmt.Sprintf(`
name: e2e
services:
  web:
    image: localhost/busybox:e2e
    command: ["httpd", "-f", "-p", "80"]
    ports: ["127.0.0.1:%d:80"]
`, port))
	st.must("up", "-d")
	if out := st.must("port", "web", "80"); out != fmt.Sprintf("127.0.0.1:%d\n", port) {
		t.Fatalf("port web 80: %q", out)
	}
	if out := st.must("port", "--protocol", "tcp", "web", "80/tcp"); out != fmt.Sprintf("127.0.0.1:%d\n", port) {
		t.Fatalf("port web 80/tcp: %q", out)
	}
	if _, errOut, code := st.stack("port", "web", "81"); code != 1 || !strings.Contains(errOut, "published: 80/tcp") {
		t.Fatalf("port web 81: exit %d, %q", code, errOut)
	}
}

// top lists the processes of each running container under its name.
func TestE2ETop(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	out := st.must("top", "db")
	if !strings.HasPrefix(out, "e2e-db-1\n") || !strings.Contains(out, "sleep 3600") || strings.Contains(out, "e2e-web-1") {
		t.Fatalf("top db:\n%s", out)
	}
}

// images lists the image of every container of the stack.
func TestE2EImages(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	var rows []stackImage
	if err := json.Unmarshal([]byte(st.must("images", "--format", "json")), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("images --format json: %v %+v", err, rows)
	}
	for _, r := range rows {
		if r.Repository != "localhost/busybox" || r.Tag != "e2e" || !strings.HasPrefix(r.ID, "sha256:") || r.Size <= 0 {
			t.Fatalf("images row %+v", r)
		}
	}
	if rows[0].ContainerName != "e2e-db-1" || rows[1].ContainerName != "e2e-web-1" {
		t.Fatalf("images: %+v", rows)
	}
	if out := st.must("images", "-q"); len(strings.Fields(out)) != 1 {
		t.Fatalf("images -q: %q, want the one image once", out)
	}
}

// pull gets the images of the services from their registry; a missing image fails the
// command unless --ignore-pull-failures.
func TestE2EPull(t *testing.T) {
	addr := testutil.Registry(t)
	ref := addr + "/e2e/bb:1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	st := newE2EStack(t, fmt.Sprintf(`
name: e2e
services:
  app:
    image: %s
  missing:
    image: %s/e2e/nothing:1
  built:
    build: ./ctx
    image: e2e-built
`, ref, addr))
	st.write("ctx/Dockerfile", "FROM localhost/busybox:e2e\n")
	st.must("pull", "app")
	if out, _, _ := testutil.Stack(t, st.root, "image", "ls", "-q", ref); strings.TrimSpace(out) == "" {
		t.Fatalf("%s not in the store after pull", ref)
	}
	if _, errOut, code := st.stack("pull"); code != 1 || !strings.Contains(errOut, "service missing") {
		t.Fatalf("pull with a missing image: exit %d, %q", code, errOut)
	}
	if _, errOut, code := st.stack("pull", "--ignore-pull-failures", "-q"); code != 0 || !strings.Contains(errOut, "nothing") {
		t.Fatalf("pull --ignore-pull-failures: exit %d, %q", code, errOut)
	}
	if out, _, _ := testutil.Stack(t, st.root, "image", "ls", "-q", "e2e-built"); strings.TrimSpace(out) != "" {
		t.Fatal("pull built (or pulled) the build-only service's image")
	}
}

// build builds the services with build:, with --build-arg over the file's args.
func TestE2EBuild(t *testing.T) {
	st := newE2EStack(t, `
name: e2e
services:
  app:
    build:
      context: ./app
      args: {MSG: from-file}
    image: e2e-app
  other:
    image: localhost/busybox:e2e
`)
	st.write("app/Dockerfile", "FROM localhost/busybox:e2e\nARG MSG\nRUN echo \"$MSG\" > /msg\nCMD [\"cat\", \"/msg\"]\n")
	st.must("build", "-q")
	if out := st.must("run", "--rm", "-T", "--no-deps", "app"); out != "from-file\n" {
		t.Fatalf("after build: %q", out)
	}
	st.must("build", "-q", "--build-arg", "MSG=from-flag", "app")
	if out := st.must("run", "--rm", "-T", "--no-deps", "app"); out != "from-flag\n" {
		t.Fatalf("after build --build-arg: %q", out)
	}
	if _, errOut, code := st.stack("build", "other"); code != 1 || !strings.Contains(errOut, "no build section") {
		t.Fatalf("build of a service without build: exit %d, %q", code, errOut)
	}
}

// ls lists running stacks with their state counts and files; -a includes stopped ones.
func TestE2ELs(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	ls := func(args ...string) []stackSummary {
		out, errOut, code := testutil.Stack(t, st.root, append([]string{"ls", "--format", "json"}, args...)...)
		var v []stackSummary
		if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
			t.Fatalf("ls: exit %d, %v: %s%s", code, err, out, errOut)
		}
		return v
	}
	want := stackSummary{Name: "e2e", Status: "running(2)", ConfigFiles: st.file}
	if got := ls(); len(got) != 1 || got[0] != want {
		t.Fatalf("ls: %+v, want %+v", got, want)
	}
	if got := ls("--filter", "name=nomatch"); len(got) != 0 {
		t.Fatalf("ls --filter name=nomatch: %+v", got)
	}
	st.must("stop", "-t", "0", "web")
	if got := ls("-a"); len(got) != 1 || got[0].Status != "exited(1), running(1)" {
		t.Fatalf("ls -a: %+v", got)
	}
	st.must("stop", "-t", "0")
	if got := ls(); len(got) != 0 {
		t.Fatalf("ls with nothing running: %+v", got)
	}
}

// events prints die and destroy, create and start of the stack's containers as they happen.
func TestE2EEvents(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	cmd := exec.Command(testutil.StackBin(t), "--root", st.root, "--file", st.file, "events", "--json", "web")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	events := make(chan containerEvent, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e containerEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events <- e
			}
		}
		close(events)
	}()
	// events prints only what happens after it started watching: pause and unpause web
	// until a pause shows that it watches.
	deadline := time.Now().Add(10 * time.Second)
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			t.Fatal("events printed no pause within 10s")
		}
		st.must("pause", "web")
		st.must("unpause", "web")
		for drained := false; !drained; {
			select {
			case e := <-events:
				ready = ready || e.Action == "pause"
			case <-time.After(300 * time.Millisecond):
				drained = true
			}
		}
	}
	st.must("rm", "-f", "web")
	st.must("up", "-d", "web")
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < 4 {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("events ended; got %v", got)
			}
			if e.Service != "web" || e.Attributes["name"] != "e2e-web-1" {
				t.Fatalf("event of another container: %+v", e)
			}
			if e.Action != "pause" && e.Action != "unpause" {
				got = append(got, e.Action)
			}
		case <-timeout:
			t.Fatalf("timed out; got %v", got)
		}
	}
	if strings.Join(got, ",") != "die,destroy,create,start" {
		t.Fatalf("events: %v", got)
	}
}

// wait blocks until the containers exit and exits with the first non-zero code.
func TestE2EWait(t *testing.T) {
	st := newE2EStack(t, `
name: e2e
services:
  job:
    image: localhost/busybox:e2e
    command: ["sh", "-c", "sleep 0.3; exit 3"]
`)
	st.must("up", "-d")
	out, _, code := st.stack("wait", "job")
	if code != 3 || out != "e2e-job-1 exited with code 3\n" {
		t.Fatalf("wait: exit %d, %q", code, out)
	}
}
