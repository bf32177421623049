//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
)

// repoRoot is the repository's top directory (the tests run in e2e/).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyExample copies examples/<name> into the test's directory, publishing the host port
// from instead on a free one (the example's own may be taken on a shared machine), and
// makes it the test's stack file. It returns the port.
func (e *env) copyExample(name string, from int) int {
	e.t.Helper()
	src := filepath.Join(repoRoot(e.t), "examples", name)
	dst := filepath.Join(e.dir, name)
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		e.t.Fatalf("copy example %s: %v\n%s", name, err, out)
	}
	addr, err := testutil.FreeAddr()
	if err != nil {
		e.t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	b, err := os.ReadFile(filepath.Join(dst, "stack.yaml"))
	if err != nil {
		e.t.Fatal(err)
	}
	published := fmt.Sprintf("\"%d:", from)
	if !strings.Contains(string(b), published) {
		e.t.Fatalf("examples/%s/stack.yaml does not publish %s", name, published)
	}
	yaml := strings.Replace(string(b), published, fmt.Sprintf("\"127.0.0.1:%d:", port), 1)
	if err := os.WriteFile(filepath.Join(dst, "stack.yaml"), []byte(yaml), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.file = filepath.Join(dst, "stack.yaml")
	return port
}

// get fetches a page from 127.0.0.1, retrying until the deadline while the server starts.
func (e *env) get(port int) string {
	e.t.Helper()
	var body string
	client := &http.Client{Timeout: 2 * time.Second}
	e.eventually(defaultWait, "fetch http://127.0.0.1:"+strconv.Itoa(port)+"/", func() error {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s: %s", resp.Status, b)
		}
		body = string(b)
		return nil
	})
	return body
}

// examples/httpd: up serves the page of ./www through the published port; down removes it.
func TestExampleHTTPD(t *testing.T) {
	e := newEnv(t)
	tarball := filepath.Join(e.dir, "busybox.tar")
	e.ok("image", "import", tarball, "localhost/busybox:stack") // the image the example names
	port := e.copyExample("httpd", 1987)
	e.stackOK("up", "-d")
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "httpd", "www", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(port); got != string(want) {
		t.Fatalf("page:\n%s\nwant examples/httpd/www/index.html:\n%s", got, want)
	}
	e.stackOK("down", "-t", "1")
	e.requireClean()
}

// examples/demo end to end, as make demo runs it: build both images from their
// Dockerfiles, up --wait, fetch twice (the visit count goes up), down -v.
func TestExampleDemo(t *testing.T) {
	e := newEnv(t)
	port := e.copyExample("demo", 8080)
	dir := filepath.Dir(e.file)
	for _, svc := range []string{"web", "store"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, svc, svc), "./examples/demo/"+svc)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the demo's %s: %v\n%s", svc, err, out)
		}
	}
	e.stackOK("up", "-d", "--build", "--wait", "--progress", "plain")
	first, second := e.get(port), e.get(port)
	count := func(page string) int {
		for _, f := range strings.Fields(page) {
			if n, err := strconv.Atoi(strings.TrimRight(f, ".,!")); err == nil {
				return n
			}
		}
		t.Fatalf("no visit count in the page:\n%s", page)
		return 0
	}
	if a, b := count(first), count(second); b != a+1 {
		t.Fatalf("visit counts %d then %d, want consecutive:\n%s\n%s", a, b, first, second)
	}
	e.stackOK("down", "-v", "-t", "1")
	if vols := e.volumes(); len(vols) != 0 {
		t.Fatalf("volumes after down -v: %v", vols)
	}
	e.requireClean()
}

// A recreated service keeps its DNS name: another container, left running, reaches the new
// container by the service's name (db serves its generation over HTTP) and the name
// resolves to the new container's address.
func TestRecreatedServiceKeepsDNSName(t *testing.T) {
	e := newEnv(t)
	stack := func(gen string) {
		e.write(fmt.Sprintf(`services:
  db:
    image: %[1]s
    command: ["sh", "-c", "mkdir -p /www && echo gen-$$GEN > /www/index.html && exec httpd -f -p 8080 -h /www"]
    environment: {GEN: "%[3]s"}
    stop_signal: SIGKILL
  client:
    image: %[1]s
    command: %[2]s
`, busybox, sleeper, gen))
	}
	client := e.name("client", 1)
	// reach asks from client until db resolves to ip alone and the server at that address
	// answers with gen (busybox's wget crashes with -T: timeout bounds it instead).
	reach := func(gen, ip string) {
		t.Helper()
		e.eventually(defaultWait, "client reaches db generation "+gen, func() error {
			r := e.run("container", "exec", client, "nslookup", "db")
			_, answer, _ := strings.Cut(r.stdout, "Name:")
			var addrs []string
			for _, l := range strings.Split(answer, "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(k, "Address") {
					addrs = append(addrs, strings.TrimSpace(v))
				}
			}
			if r.code != 0 || len(addrs) != 1 || addrs[0] != ip {
				return fmt.Errorf("db resolves to %v, want [%s]: %s", addrs, ip, r)
			}
			r = e.run("container", "exec", client, "timeout", "3", "wget", "-q", "-O", "-", "http://"+ip+":8080/")
			if r.code != 0 || strings.TrimSpace(r.stdout) != "gen-"+gen {
				return fmt.Errorf("%s", r)
			}
			return nil
		})
	}
	network := e.project + "_default"
	stack("1")
	e.stackOK("up", "-d")
	before := e.requireRunning(e.name("db", 1), client)
	reach("1", before[e.name("db", 1)].NetworkSettings.Networks[network].IPAddress)
	stack("2")
	e.stackOK("up", "-d")
	after := e.requireRunning(e.name("db", 1), client)
	e.sameContainers(before, after, client)
	db := after[e.name("db", 1)]
	if db.ID == before[e.name("db", 1)].ID {
		t.Fatalf("db was not recreated")
	}
	reach("2", db.NetworkSettings.Networks[network].IPAddress)
}
