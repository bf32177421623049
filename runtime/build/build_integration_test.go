//go:build integration

package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
)

func TestMain(m *testing.M) {
	// The runtime re-executes the test binary as monitor and init, the network as its DNS
	// server.
	runtime.RunRole(os.Args)
	if len(os.Args) > 1 && os.Args[1] == network.DNSRole {
		if err := network.DNSMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fixture is a store root with busybox imported, and a build context directory.
type fixture struct {
	root  string
	store *image.Store
	mgr   *runtime.Manager
	dir   string
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	store, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(context.Background(), bytes.NewReader(testutil.BusyboxTar(t)), "busybox:latest", nil); err != nil {
		t.Fatalf("import busybox: %v", err)
	}
	mgr, err := runtime.New(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: root, store: store, mgr: mgr, dir: t.TempDir()}
	f.write(t, files)
	t.Cleanup(func() {
		cs, err := mgr.List(runtime.ListOptions{All: true})
		if err != nil {
			t.Error(err)
		}
		for _, c := range cs {
			if c.Spec.Labels["stack.build"] != "" {
				t.Errorf("RUN container %s left behind", c.ID)
			}
			mgr.Remove(context.Background(), c.ID, runtime.RemoveOptions{Force: true})
		}
		assertNoScratch(t, root)
	})
	return f
}

func (f *fixture) write(t *testing.T, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(f.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// build runs a build with plain progress and returns the image and the output.
func (f *fixture) build(t *testing.T, opts Options) (*image.Image, string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Root, opts.Store, opts.Runtime, opts.ContextDir = f.root, f.store, f.mgr, f.dir
	opts.Progress, opts.Mode = &out, ProgressPlain
	img, err := Build(context.Background(), opts)
	t.Logf("build output:\n%s", out.String())
	return img, out.String(), err
}

func (f *fixture) mustBuild(t *testing.T, opts Options) (*image.Image, string) {
	t.Helper()
	img, out, err := f.build(t, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img, out
}

// imageFile finds p in the image's layers, top first (tests do not delete files).
func imageFile(t *testing.T, img *image.Image, p string) (os.FileInfo, string, bool) {
	t.Helper()
	for _, dir := range img.LowerDirs() {
		hp := filepath.Join(dir, p)
		fi, err := os.Lstat(hp)
		if err != nil {
			continue
		}
		content := ""
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(hp)
			if err != nil {
				t.Fatal(err)
			}
			content = string(b)
		}
		return fi, content, true
	}
	return nil, "", false
}

func mustFile(t *testing.T, img *image.Image, p, want string) os.FileInfo {
	t.Helper()
	fi, content, ok := imageFile(t, img, p)
	if !ok {
		t.Fatalf("%s missing from image", p)
	}
	if content != want {
		t.Fatalf("%s = %q, want %q", p, content, want)
	}
	return fi
}

// assertNoScratch checks that no scratch overlay is left mounted or on disk.
func assertNoScratch(t *testing.T, root string) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), root) {
		t.Errorf("mounts left under %s", root)
	}
	if des, _ := os.ReadDir(filepath.Join(cacheDir(root), scratchDirName)); len(des) > 0 {
		t.Errorf("scratch entries left: %d", len(des))
	}
}

func TestBuildCopyLayersAndMetadata(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM ${BASE} AS base
ARG WHO=world
ENV GREETING="hello ${WHO}" APPDIR=/srv/app
WORKDIR $APPDIR
COPY --chown=app:staff --chmod=0750 run.sh ./
COPY conf/ conf/
COPY *.txt notes/
ADD files.tar /opt/
COPY <<EOF /etc/motd
greeting is $GREETING
EOF
LABEL org.example.who=$WHO
EXPOSE 8080 53/udp
USER app
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD ["true"]
ENTRYPOINT ["/bin/sh", "run.sh"]
`,
		"run.sh":      "echo run\n",
		"conf/a.conf": "a\n",
		"conf/b.conf": "b\n",
		"one.txt":     "1\n",
		"two.txt":     "2\n",
	})
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "pkg/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "pkg/x", Typeflag: tar.TypeReg, Mode: 0o600, Size: 2, Uid: 1000, Gid: 50})
	tw.Write([]byte("x\n"))
	tw.Close()
	f.write(t, map[string]string{"files.tar": tb.String()})

	img, _ := f.mustBuild(t, Options{Args: map[string]string{"WHO": "stack"}, Labels: map[string]string{"build": "test"}})
	cfg := img.Config.Config
	fi := mustFile(t, img, "/srv/app/run.sh", "echo run\n")
	if fi.Mode().Perm() != 0o750 || ownerOf(fi) != [2]uint32{1000, 50} {
		t.Errorf("run.sh mode %v owner %v", fi.Mode(), ownerOf(fi))
	}
	mustFile(t, img, "/srv/app/conf/a.conf", "a\n")
	mustFile(t, img, "/srv/app/conf/b.conf", "b\n")
	mustFile(t, img, "/srv/app/notes/one.txt", "1\n")
	mustFile(t, img, "/srv/app/notes/two.txt", "2\n")
	if fi := mustFile(t, img, "/opt/pkg/x", "x\n"); ownerOf(fi) != [2]uint32{1000, 50} || fi.Mode().Perm() != 0o600 {
		t.Errorf("extracted file mode %v owner %v", fi.Mode(), ownerOf(fi))
	}
	mustFile(t, img, "/etc/motd", "greeting is hello stack\n")
	if _, _, ok := imageFile(t, img, "/opt/files.tar"); ok {
		t.Error("ADD copied the archive instead of extracting it")
	}
	wantEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello stack", "APPDIR=/srv/app"}
	if !reflect.DeepEqual(cfg.Env, wantEnv) {
		t.Errorf("Env = %q, want %q", cfg.Env, wantEnv)
	}
	if cfg.WorkingDir != "/srv/app" || cfg.User != "app" || cfg.StopSignal != "SIGINT" {
		t.Errorf("config: workdir %q user %q stopsignal %q", cfg.WorkingDir, cfg.User, cfg.StopSignal)
	}
	if cfg.Labels["org.example.who"] != "stack" || cfg.Labels["build"] != "test" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("ports %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", cfg.Volumes)
	}
	if cfg.Healthcheck == nil || !reflect.DeepEqual(cfg.Healthcheck.Test, []string{"CMD", "true"}) || cfg.Healthcheck.Retries != 2 {
		t.Errorf("healthcheck %+v", cfg.Healthcheck)
	}
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "run.sh"}) || cfg.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	// Layers: busybox + WORKDIR + 3 COPY + ADD + heredoc COPY; history has every step.
	if got := len(img.Layers); got != 7 {
		t.Errorf("layers = %d, want 7", got)
	}
	var empty, full int
	for _, h := range img.Config.History[1:] {
		if h.EmptyLayer {
			empty++
		} else {
			full++
		}
	}
	if full != 6 || empty != 9 {
		t.Errorf("history: %d layer entries, %d empty, want 6 and 9", full, empty)
	}
}

func ownerOf(fi os.FileInfo) [2]uint32 {
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint32{st.Uid, st.Gid}
}

func TestBuildCache(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": "FROM busybox\nARG V=1\nCOPY a /a\nENV X=$V\nCOPY b /b\nCMD [\"cat\", \"/a\"]\n",
		"a":          "a1",
		"b":          "b1",
	})
	first, out := f.mustBuild(t, Options{})
	if strings.Contains(out, "CACHED") {
		t.Fatalf("first build used the cache:\n%s", out)
	}
	second, out := f.mustBuild(t, Options{})
	if second.ID != first.ID {
		t.Errorf("rebuild with nothing changed: %s, want %s", second.ID, first.ID)
	}
	if n := strings.Count(out, "CACHED"); n != 4 {
		t.Errorf("rebuild: %d CACHED steps, want 4", n)
	}
	// Times do not matter: touch a copied file.
	now := first.Added.Add(3600e9)
	if err := os.Chtimes(filepath.Join(f.dir, "a"), now, now); err != nil {
		t.Fatal(err)
	}
	if third, _ := f.mustBuild(t, Options{}); third.ID != first.ID {
		t.Errorf("touching a file missed the cache")
	}
	// Changing b rebuilds from COPY b on; the steps before hit.
	f.write(t, map[string]string{"b": "b2"})
	changed, out := f.mustBuild(t, Options{})
	if changed.ID == first.ID || strings.Count(out, "CACHED") != 2 {
		t.Errorf("after changing b: same ID %v, CACHED %d (want 2)", changed.ID == first.ID, strings.Count(out, "CACHED"))
	}
	mustFile(t, changed, "/b", "b2")
	// A build arg in effect is part of the key.
	_, out = f.mustBuild(t, Options{Args: map[string]string{"V": "2"}})
	if n := strings.Count(out, "CACHED"); n != 0 {
		t.Errorf("changed build arg: %d CACHED, want 0", n)
	}
	// --no-cache runs everything.
	_, out = f.mustBuild(t, Options{NoCache: true})
	if strings.Contains(out, "CACHED") {
		t.Errorf("--no-cache used the cache")
	}
	// PruneCache drops it: the next build misses.
	if keys, err := PruneCache(f.root, nil); err != nil || len(keys) == 0 {
		t.Fatalf("PruneCache = %v, %v", keys, err)
	}
	_, out = f.mustBuild(t, Options{})
	if n := strings.Count(out, "CACHED"); n != 0 {
		t.Errorf("after prune: %d CACHED", n)
	}
}

func TestBuildDockerignore(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile":       "FROM busybox\nCOPY . /ctx/\n",
		".dockerignore":    "# comment\n*.log\nsecret/\n!keep.log\nnode_modules\n**/*.tmp\n",
		"app.go":           "package main\n",
		"debug.log":        "x",
		"keep.log":         "k",
		"secret/key":       "s",
		"node_modules/m":   "m",
		"sub/deep/x.tmp":   "t",
		"sub/deep/y.txt":   "y",
		"sub/node_modules": "kept: the pattern is anchored at the root",
	})
	img, _ := f.mustBuild(t, Options{})
	for _, p := range []string{"app.go", "keep.log", "sub/deep/y.txt", "sub/node_modules", "Dockerfile", ".dockerignore"} {
		if _, _, ok := imageFile(t, img, "/ctx/"+p); !ok {
			t.Errorf("%s should be copied", p)
		}
	}
	for _, p := range []string{"debug.log", "secret", "node_modules", "sub/deep/x.tmp"} {
		if _, _, ok := imageFile(t, img, "/ctx/"+p); ok {
			t.Errorf("%s should be ignored", p)
		}
	}
	// An ignored file named directly is not in the context.
	f.write(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY debug.log /\n"})
	if _, _, err := f.build(t, Options{}); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("COPY of an ignored file: %v", err)
	}
}

func TestBuildMultiStageTarget(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": `FROM busybox AS build
COPY src /src
FROM does-not-exist:never AS unused
COPY src /x
FROM scratch AS final
COPY --from=build /src/hello.txt /hello.txt
COPY --from=busybox /bin/busybox /bin/
FROM build AS other
COPY --from=0 /src /copy
`,
		"src/hello.txt": "hello\n",
	})
	img, out := f.mustBuild(t, Options{Target: "final"})
	mustFile(t, img, "/hello.txt", "hello\n")
	if _, _, ok := imageFile(t, img, "/bin/busybox"); !ok {
		t.Error("COPY --from=image missing")
	}
	if strings.Contains(out, "does-not-exist") || strings.Contains(out, "[other") {
		t.Errorf("unneeded stages were built:\n%s", out)
	}
	if len(img.Layers) != 2 {
		t.Errorf("final image has %d layers, want 2", len(img.Layers))
	}
	other, _ := f.mustBuild(t, Options{Target: "other"})
	mustFile(t, other, "/copy/hello.txt", "hello\n")
	if _, _, err := f.build(t, Options{Target: "nope"}); !errors.Is(err, ErrUnknownStage) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	cases := map[string]struct {
		dockerfile string
		line       int
		err        error
	}{
		"unknown instruction": {"FROM busybox\nFORM x\n", 2, ErrUnsupported},
		"unsupported flag":    {"FROM busybox\nCOPY --link a /\n", 2, ErrUnsupported},
		"add url":             {"FROM busybox\n\nADD https://example.com/x /x\n", 3, ErrUnsupported},
		"missing source":      {"FROM busybox\nCOPY nothing /\n", 2, ErrSourceNotFound},
		"outside context":     {"FROM busybox\nCOPY ../x /\n", 2, ErrOutsideContext},
		"several to a file":   {"FROM busybox\nCOPY a b /dst\n", 2, ErrSyntax},
		"unknown user":        {"FROM busybox\nCOPY --chown=ghost a /\n", 2, ErrUnknownUser},
		"required arg":        {"FROM busybox\nARG V\nENV X=\"${V:?must be set}\"\n", 3, ErrBadVariable},
		"base image missing":  {"FROM 127.0.0.1:1/nothere:1\n", 1, image.ErrNotFound},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"Dockerfile": c.dockerfile, "a": "a", "b": "b"})
			_, _, err := f.build(t, Options{})
			var le *LineError
			if !errors.As(err, &le) || le.Line != c.line || !errors.Is(err, c.err) {
				t.Fatalf("got %v, want Dockerfile:%d %v", err, c.line, c.err)
			}
			if !strings.HasPrefix(err.Error(), "Dockerfile:") {
				t.Errorf("error %q does not start with Dockerfile:LINE", err)
			}
		})
	}
}

// goServer builds a static HTTP server into dir/server: it answers "hello from <arg>" on
// the address in $ADDR.
func goServer(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "main.go")
	prog := `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello from %s", os.Args[1]) })
	if err := http.ListenAndServe(os.Getenv("ADDR"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "server"), src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// A base image missing from the store is pulled, as docker build does.
func TestBuildPullsBase(t *testing.T) {
	f := newFixture(t, map[string]string{"Dockerfile": "", "a": "a"})
	addr := testutil.Registry(t)
	ref := addr + "/base/busybox:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, testutil.BusyboxImage(t)); err != nil {
		t.Fatalf("push: %v", err)
	}
	f.write(t, map[string]string{"Dockerfile": "FROM " + ref + "\nCOPY a /a\n"})
	img, out := f.mustBuild(t, Options{})
	if !strings.Contains(out, "pull "+ref) {
		t.Errorf("no pull step in output")
	}
	mustFile(t, img, "/a", "a")
	if _, _, ok := imageFile(t, img, "/bin/busybox"); !ok {
		t.Error("base layer missing")
	}
}

// runImage runs a container of ref (spec's command overriding the image's) and returns
// its output and exit code; the container is removed.
func (f *fixture) runImage(t *testing.T, ref string, spec runtime.Spec) (string, int) {
	t.Helper()
	ctx := context.Background()
	spec.Image = ref
	c, err := f.mgr.Create(ctx, spec)
	if err != nil {
		t.Fatalf("create container of %s: %v", ref, err)
	}
	defer f.mgr.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true})
	// as run.go does: the runtime's 0700 upper dir would make / unreachable for USER runner
	if err := os.Chmod(filepath.Join(c.Dir(), "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	wait, err := f.mgr.StartWait(ctx, c.ID)
	if err != nil {
		t.Fatalf("start container of %s: %v", ref, err)
	}
	code, err := wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := f.mgr.Logs(ctx, c.ID, runtime.LogOptions{Tail: -1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// A busybox multi-stage build: RUN in shell, exec and heredoc forms with ARG and ENV in
// their environment, WORKDIR, USER, and ENTRYPOINT/CMD combinations checked by running
// the results.
func TestBuildRunMultiStage(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": `FROM busybox AS builder
ARG FLAVOR=plain
ENV OUT=/out
WORKDIR /work
RUN mkdir -p $OUT && echo "flavor=$FLAVOR" > $OUT/flavor && pwd > $OUT/pwd
RUN ["/bin/sh", "-c", "echo exec-form > /out/exec"]
RUN <<EOF
echo heredoc > /out/heredoc
echo "out is $OUT" >> /out/heredoc
EOF
RUN rm /bin/vi && echo removed

FROM busybox AS app
COPY --from=builder /out /app/
RUN echo 'runner:x:1234:1234::/home/runner:/bin/sh' >> /etc/passwd
WORKDIR /app
RUN id -u > /app/builder-uid
USER runner
RUN id -u > /tmp/runner-uid && touch /tmp/made-by-runner
ENV GREETING=hi
ENTRYPOINT ["/bin/sh", "-c", "echo \"$GREETING from $(id -u) in $(pwd): $0 $*\"; cat /app/flavor"]
CMD ["default-arg"]

FROM app AS shellentry
ENTRYPOINT echo shell-form ignores CMD

FROM app AS cmdonly
ENTRYPOINT []
CMD ["cat", "/app/heredoc"]
`,
	})
	args := map[string]string{"FLAVOR": "spicy"}
	img, out := f.mustBuild(t, Options{Target: "app", Tags: []string{"app:1"}, Args: args})
	if !strings.Contains(out, "removed") {
		t.Errorf("RUN output not streamed:\n%s", out)
	}
	mustFile(t, img, "/app/flavor", "flavor=spicy\n")
	mustFile(t, img, "/app/pwd", "/work\n")
	mustFile(t, img, "/app/exec", "exec-form\n")
	mustFile(t, img, "/app/heredoc", "heredoc\nout is /out\n")
	mustFile(t, img, "/app/builder-uid", "0\n")
	mustFile(t, img, "/tmp/runner-uid", "1234\n")
	if fi := mustFile(t, img, "/tmp/made-by-runner", ""); ownerOf(fi)[0] != 1234 {
		t.Errorf("file made by USER runner owned by %v", ownerOf(fi))
	}
	// the runtime's mount points (/etc/hosts ...) are not part of the layers
	for _, p := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"} {
		if _, _, ok := imageFile(t, img, p); ok {
			t.Errorf("%s leaked into the image", p)
		}
	}
	if env := strings.Join(img.Config.Config.Env, " "); strings.Contains(env, "FLAVOR") {
		t.Errorf("ARG persisted in the image env: %q", env)
	}

	got, code := f.runImage(t, "app:1", runtime.Spec{})
	if code != 0 || got != "hi from 1234 in /app: default-arg \nflavor=spicy\n" {
		t.Errorf("app: exit %d, output %q", code, got)
	}
	got, _ = f.runImage(t, "app:1", runtime.Spec{Cmd: []string{"x", "y"}})
	if !strings.HasPrefix(got, "hi from 1234 in /app: x y\n") {
		t.Errorf("app with args: %q", got)
	}

	shellImg, _ := f.mustBuild(t, Options{Target: "shellentry", Tags: []string{"shellentry:1"}, Args: args})
	if cfg := shellImg.Config.Config; cfg.Cmd != nil || !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "-c", "echo shell-form ignores CMD"}) {
		t.Errorf("shell-form ENTRYPOINT: entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if got, _ := f.runImage(t, "shellentry:1", runtime.Spec{}); got != "shell-form ignores CMD\n" {
		t.Errorf("shellentry: %q", got)
	}
	f.mustBuild(t, Options{Target: "cmdonly", Tags: []string{"cmdonly:1"}, Args: args})
	if got, _ := f.runImage(t, "cmdonly:1", runtime.Spec{}); got != "heredoc\nout is /out\n" {
		t.Errorf("cmdonly: %q", got)
	}

	// The whole build again: every step of every stage hits the cache.
	again, out := f.mustBuild(t, Options{Target: "app", Args: args})
	if again.ID != img.ID || strings.Count(out, "CACHED") != 15 {
		t.Errorf("cached rebuild: ID %s want %s, %d CACHED (want 15)", again.ID, img.ID, strings.Count(out, "CACHED"))
	}
}

// A failing RUN reports its exit code and output and leaves no image, container or mount.
func TestBuildRunFails(t *testing.T) {
	f := newFixture(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY a /a\nRUN echo about to fail; echo oops >&2; exit 3\nCMD [\"true\"]\n", "a": "a"})
	before, err := f.store.List()
	if err != nil {
		t.Fatal(err)
	}
	_, out, err := f.build(t, Options{Tags: []string{"never:1"}})
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 3 || !errors.Is(err, ErrRunFailed) {
		t.Fatalf("got %v, want a RunError with exit code 3", err)
	}
	if !strings.Contains(re.Output, "about to fail") || !strings.Contains(re.Output, "oops") {
		t.Errorf("error output %q", re.Output)
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 {
		t.Errorf("error line: %v", err)
	}
	if !strings.Contains(out, "ERROR") {
		t.Errorf("no ERROR in progress:\n%s", out)
	}
	after, err := f.store.List()
	if err != nil {
		t.Fatal(err)
	}
	// only the COPY step's image (complete, and cached) is new
	if len(after) != len(before)+1 {
		t.Errorf("images: %d before, %d after, want one more", len(before), len(after))
	}
	if _, err := f.store.Get("never:1"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("failed build was tagged: %v", err)
	}
	// a command that does not exist exits 127, as in Docker
	f.write(t, map[string]string{"Dockerfile": "FROM busybox\nRUN [\"/no/such/cmd\"]\n"})
	if _, _, err := f.build(t, Options{}); !errors.As(err, &re) || re.ExitCode != 127 {
		t.Errorf("missing command: %v", err)
	}
}

// FROM scratch with a static Go HTTP server: built, run, and asked over HTTP.
func TestBuildScratchGoServer(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY server /server\nENV ADDR=127.0.0.1:8080\nEXPOSE 8080\nENTRYPOINT [\"/server\"]\nCMD [\"scratch\"]\n",
	})
	goServer(t, f.dir)
	img, _ := f.mustBuild(t, Options{Tags: []string{"server:1"}})
	if len(img.Layers) != 1 {
		t.Errorf("layers = %d, want 1", len(img.Layers))
	}
	want, err := os.ReadFile(filepath.Join(f.dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	if fi := mustFile(t, img, "/server", string(want)); fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("/server is not executable: %v", fi.Mode())
	}
	ctx := context.Background()
	c, err := f.mgr.Create(ctx, runtime.Spec{Image: "server:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.mgr.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true})
	if err := f.mgr.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// The container has only loopback: ask from inside its network namespace.
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, err := httpGetInNetns(c.NetNSPath(), "127.0.0.1:8080")
		if err == nil {
			if body != "hello from scratch" {
				t.Fatalf("body %q", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpGetInNetns does GET http://addr/ from a thread inside the network namespace at
// nsPath; the thread is discarded afterwards.
func httpGetInNetns(nsPath, addr string) (string, error) {
	type result struct {
		body string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		resp, err := io.ReadAll(conn)
		if err != nil {
			ch <- result{err: err}
			return
		}
		_, body, _ := strings.Cut(string(resp), "\r\n\r\n")
		ch <- result{body: body}
	}()
	r := <-ch
	return r.body, r.err
}

// RUN steps join the network the build names: here an internal network of the test's own
// (no traffic leaves the host), seen from the step as eth0 with the network's DNS server.
func TestBuildRunNetwork(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN grep -q eth0 /proc/net/dev && grep nameserver /etc/resolv.conf > /nameserver\n",
	})
	nets, err := network.Open(f.root, runtime.RunDir(f.root))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := nets.Ensure(ctx, network.Config{Name: "buildnet", Subnet: "10.252.17.0/24", Internal: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nets.Remove(context.Background(), "buildnet"); err != nil {
			t.Errorf("remove network: %v", err)
		}
	})
	f.mgr.Network = &network.Attacher{Networks: nets}
	img, _ := f.mustBuild(t, Options{Network: "buildnet"})
	mustFile(t, img, "/nameserver", "nameserver 10.252.17.1\n")
	// without a network, RUN sees loopback only
	f.write(t, map[string]string{"Dockerfile": "FROM busybox\nRUN ! grep -q eth0 /proc/net/dev\n"})
	f.mustBuild(t, Options{})
}

// ONBUILD is stored in the image and its triggers run in a build FROM that image.
func TestBuildOnbuild(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Dockerfile": "FROM busybox\nONBUILD COPY a /from-trigger\nONBUILD ENV TRIGGERED=yes\n",
		"a":          "a\n",
	})
	parent, _ := f.mustBuild(t, Options{Tags: []string{"parent:1"}})
	if got := parent.Config.Config.OnBuild; !reflect.DeepEqual(got, []string{"COPY a /from-trigger", "ENV TRIGGERED=yes"}) {
		t.Fatalf("OnBuild = %q", got)
	}
	f.write(t, map[string]string{"Dockerfile": "FROM parent:1\nCMD [\"true\"]\n"})
	child, _ := f.mustBuild(t, Options{})
	mustFile(t, child, "/from-trigger", "a\n")
	if cfg := child.Config.Config; len(cfg.OnBuild) != 0 || !strings.Contains(strings.Join(cfg.Env, " "), "TRIGGERED=yes") {
		t.Errorf("child: OnBuild %q, Env %q", cfg.OnBuild, cfg.Env)
	}
}
