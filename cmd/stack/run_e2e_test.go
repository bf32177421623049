//go:build e2e

package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run --rm runs the command in a one-off, passes its exit code through and leaves no
// container behind.
func TestE2ERunRm(t *testing.T) {
	st := newE2EStack(t, twoServices)
	out, _, code := st.stack("run", "--rm", "-T", "web", "sh", "-c", "echo one-off; exit 4")
	if code != 4 || out != "one-off\n" {
		t.Fatalf("run --rm: exit %d, %q", code, out)
	}
	for name := range st.states() {
		if strings.Contains(name, "-run-") {
			t.Fatalf("one-off %s left after run --rm", name)
		}
	}
}

// run brings up the service's dependencies (db) but not the service's own replicas.
func TestE2ERunStartsDependencies(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("run", "--rm", "-T", "web", "true")
	got := st.states()
	if got["e2e-db-1"] != "running" {
		t.Fatalf("after run web: %v, want db running", got)
	}
	if _, ok := got["e2e-web-1"]; ok {
		t.Fatalf("after run web: %v, web-1 must not be created", got)
	}
}

// --no-deps starts nothing else.
func TestE2ERunNoDeps(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("run", "--rm", "-T", "--no-deps", "web", "true")
	if got := st.states(); len(got) != 0 {
		t.Fatalf("after run --no-deps: %v", got)
	}
}

// A one-off is named <project>-<service>-run-<id12>, is left alone by up (nothing to
// change) and removed by down.
func TestE2ERunOneOffIgnoredByUp(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	id := strings.TrimSpace(st.must("run", "-d", "web", "sleep", "60"))
	var name string
	for n := range st.states() {
		if strings.Contains(n, "-run-") {
			name = n
		}
	}
	if !regexp.MustCompile(`^e2e-web-run-[0-9a-f]{12}$`).MatchString(name) || len(id) != 64 {
		t.Fatalf("one-off name %q, id %q", name, id)
	}
	if out, _, code := st.stack("diff"); code != 0 {
		t.Fatalf("diff after run: exit %d\n%s", code, out)
	}
	st.must("down", "-t", "0")
	if got := st.states(); len(got) != 0 {
		t.Fatalf("after down: %v", got)
	}
}

// -e, --entrypoint, -w, -u and --name override the service's settings.
func TestE2ERunOverrides(t *testing.T) {
	st := newE2EStack(t, twoServices)
	out := st.must("run", "--rm", "-T", "--no-deps", "-e", "V=x", "-w", "/tmp", "-u", "1000",
		"--entrypoint", "sh -c", "--name", "custom", "web", `echo "$V $(pwd) $(id -u) $(hostname)"`)
	f := strings.Fields(out)
	if len(f) != 4 || f[0] != "x" || f[1] != "/tmp" || f[2] != "1000" {
		t.Fatalf("run overrides: %q", out)
	}
}

// -v mounts a host directory into the one-off.
func TestE2ERunVolume(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.write("data/greeting", "hello from the host\n")
	out := st.must("run", "--rm", "-T", "--no-deps", "-v", st.dir+"/data:/data:ro", "web", "cat", "/data/greeting")
	if out != "hello from the host\n" {
		t.Fatalf("run -v: %q", out)
	}
}

// -p publishes a port of the one-off (and only with -p: the service's ports are not).
func TestE2ERunPublish(t *testing.T) {
	port := freePort(t)
	st := newE2EStack(t, twoServices)
	st.must("run", "-d", "--no-deps", "-p", "127.0.0.1:"+strconv.Itoa(port)+":80", "web", "httpd", "-f", "-p", "80")
	var entry stackPsEntry
	for _, e := range st.ps() {
		entry = e
	}
	if !strings.Contains(entry.Ports, "127.0.0.1:"+strconv.Itoa(port)+"->80/tcp") {
		t.Fatalf("ports of the one-off: %q", entry.Ports)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	eventually(t, 5*time.Second, "an HTTP answer on "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true // httpd answers (404: it serves an empty directory)
	})
}
