package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stackhq/stack/internal/testutil"
)

// startRegistry serves go-containerregistry's in-process registry, behind wrap when given,
// on 127.0.0.1 (plain HTTP, as for any loopback registry) and returns its host:port.
func startRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img v1.Image, opts ...remote.Option) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func threeLayers(t *testing.T) v1.Image {
	return testutil.BuildImage(t, v1.Config{Cmd: []string{"/bin/app"}, Env: []string{"A=1"}},
		testutil.Tar(t, "bin/", "", "bin/app", "v1", "etc/", "", "etc/conf", "base"),
		testutil.Tar(t, "etc/", "", "etc/.wh.conf", "", "data/", "", "data/x", strings.Repeat("x", 100000)),
		testutil.Tar(t, "bin/app", "v2"))
}

func TestPull(t *testing.T) {
	host := startRegistry(t, nil)
	src := threeLayers(t)
	push(t, host+"/test/app:v1", src)
	s := openStore(t)

	var mu sync.Mutex
	final := map[v1.Hash]string{}
	img, err := s.Pull(context.Background(), host+"/test/app:v1", PullOptions{Progress: func(p Progress) {
		mu.Lock()
		final[p.Layer] = p.Status
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := src.ConfigName()
	wantDigest, _ := src.Digest()
	if img.ID != wantID.String() {
		t.Errorf("ID = %s, want %s", img.ID, wantID)
	}
	if want := []string{host + "/test/app:v1"}; !equalStrings(img.RepoTags, want) {
		t.Errorf("RepoTags = %v, want %v", img.RepoTags, want)
	}
	if want := []string{host + "/test/app@" + wantDigest.String()}; !equalStrings(img.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want %v", img.RepoDigests, want)
	}
	if img.Manifest != wantDigest {
		t.Errorf("Manifest = %s, want %s", img.Manifest, wantDigest)
	}
	if len(img.Layers) != 3 || img.Size != int64(len("v1")+len("base")+100000+len("v2")) {
		t.Fatalf("layers %d size %d", len(img.Layers), img.Size)
	}
	if fi, err := os.Lstat(filepath.Join(img.Layers[1].Dir, "etc/conf")); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("whiteout not unpacked as a device: %v %v", fi, err)
	}
	if len(final) != 3 {
		t.Errorf("progress for %d layers", len(final))
	}
	for l, st := range final {
		if st != StatusComplete {
			t.Errorf("layer %s ended %q", l, st)
		}
	}

	// Again: nothing is downloaded, and by digest the same image comes back.
	clear(final)
	again, err := s.Pull(context.Background(), host+"/test/app@"+wantDigest.String(), PullOptions{Progress: func(p Progress) { final[p.Layer] = p.Status }})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != img.ID {
		t.Errorf("pull by digest: ID %s", again.ID)
	}
	for l, st := range final {
		if st != StatusExists {
			t.Errorf("second pull: layer %s ended %q", l, st)
		}
	}
	if got, err := s.Get(host + "/test/app@" + wantDigest.String()); err != nil || got.ID != img.ID {
		t.Errorf("Get by digest: %v", err)
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestPullIndexSelectsPlatform(t *testing.T) {
	host := startRegistry(t, nil)
	amd := testutil.BuildImage(t, v1.Config{Cmd: []string{"amd64"}}, testutil.Tar(t, "arch", "amd64"))
	arm := testutil.BuildImage(t, v1.Config{Cmd: []string{"arm64"}}, testutil.Tar(t, "arch", "arm64"))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	r, _ := name.ParseReference(host + "/multi:latest")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := openStore(t)
	for arch, want := range map[string]v1.Image{"amd64": amd, "arm64": arm} {
		img, err := s.Pull(context.Background(), host+"/multi", PullOptions{Platform: &v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := want.ConfigName()
		if img.ID != id.String() || img.Config.Config.Cmd[0] != arch {
			t.Errorf("%s: got %s %v", arch, img.ID, img.Config.Config.Cmd)
		}
		if !equalStrings(img.RepoDigests, []string{host + "/multi@" + idxDigest.String()}) {
			t.Errorf("%s: RepoDigests %v, want the index digest", arch, img.RepoDigests)
		}
	}
	_, err := s.Pull(context.Background(), host+"/multi", PullOptions{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}})
	if !errors.Is(err, ErrNoMatchingPlatform) {
		t.Errorf("pull s390x = %v, want ErrNoMatchingPlatform", err)
	}
}

func TestPullAuthFromDockerConfig(t *testing.T) {
	const user, pass = "alice", "s3cret"
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	img := testutil.BuildImage(t, v1.Config{}, testutil.Tar(t, "f", "x"))
	push(t, host+"/private:1", img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))

	dockerDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerDir)
	s := openStore(t)
	if _, err := s.Pull(context.Background(), host+"/private:1", PullOptions{}); err == nil {
		t.Fatal("pull without credentials succeeded")
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pull(context.Background(), host+"/private:1", PullOptions{})
	if err != nil {
		t.Fatalf("pull with ~/.docker/config.json credentials: %v", err)
	}
	if id, _ := img.ConfigName(); got.ID != id.String() {
		t.Errorf("ID = %s", got.ID)
	}
}

func TestPullRetriesTransientFailures(t *testing.T) {
	var count atomic.Int64
	img := threeLayers(t)
	layers, _ := img.Layers()
	first, _ := layers[0].Digest()
	var truncated atomic.Bool
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+first.String()) {
				switch count.Add(1) {
				case 1: // a server error
					http.Error(w, "try later", http.StatusServiceUnavailable)
					return
				case 2: // a connection cut in the middle of the body
					truncated.Store(true)
					w.Header().Set("Content-Length", "1000000")
					w.WriteHeader(http.StatusOK)
					w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
					w.(http.Flusher).Flush() // the client has the headers and a part of the body
					panic(http.ErrAbortHandler)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	push(t, host+"/flaky:1", img)
	s := openStore(t)
	var retried atomic.Int64
	got, err := s.Pull(context.Background(), host+"/flaky:1", PullOptions{RetryDelay: 10 * time.Millisecond, Progress: func(p Progress) {
		if p.Status == StatusRetrying {
			retried.Add(1)
		}
	}})
	if err != nil {
		t.Fatalf("pull through transient failures: %v", err)
	}
	if id, _ := img.ConfigName(); got.ID != id.String() {
		t.Errorf("ID = %s", got.ID)
	}
	if !truncated.Load() || retried.Load() == 0 {
		t.Errorf("truncated=%v retries reported=%d: the faults were not exercised", truncated.Load(), retried.Load())
	}
	assertNoTemp(t, s)
}

func TestPullPermanentFailureNotRetried(t *testing.T) {
	var count atomic.Int64
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Pushes HEAD and PUT blobs; only GETs of blobs are broken.
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
				count.Add(1)
				http.Error(w, "gone", http.StatusNotFound)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	img := testutil.BuildImage(t, v1.Config{}, testutil.Tar(t, "f", "x"))
	push(t, host+"/gone:1", img)
	s := openStore(t)
	_, err := s.Pull(context.Background(), host+"/gone:1", PullOptions{RetryDelay: time.Millisecond})
	if err == nil {
		t.Fatal("pull of missing blobs succeeded")
	}
	// The config GET fails with 404 and is not retried, by go-containerregistry nor by us.
	if n := count.Load(); n != 1 {
		t.Errorf("%d blob requests, want 1 (no retries of a 404)", n)
	}
}

func TestPullCorruptLayerStoresNothing(t *testing.T) {
	img := threeLayers(t)
	layers, _ := img.Layers()
	bad, _ := layers[2].Digest()
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				body[len(body)-5] ^= 0xff // flip bits in the gzip trailer
				w.WriteHeader(rec.Code)
				w.Write(body)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	push(t, host+"/corrupt:1", img)
	s := openStore(t)
	_, err := s.Pull(context.Background(), host+"/corrupt:1", PullOptions{Retries: 1, RetryDelay: time.Millisecond})
	if err == nil {
		t.Fatal("pull of a corrupt layer succeeded")
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("an image was stored: %v", list)
	}
	blobs, _ := os.ReadDir(filepath.Join(s.Root(), "blobs/sha256"))
	for _, b := range blobs {
		if b.Name() == bad.Hex {
			t.Error("the corrupt blob was stored")
		}
	}
	assertNoTemp(t, s)
}

func TestConcurrentPullsStoreOnce(t *testing.T) {
	host := startRegistry(t, nil)
	img := threeLayers(t)
	push(t, host+"/same:1", img)
	root := filepath.Join(t.TempDir(), "images")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A Store each, as separate processes would have; flocks are per open file.
			s, err := Open(root)
			if err == nil {
				_, err = s.Pull(context.Background(), host+"/same:1", PullOptions{})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	layers, _ := os.ReadDir(filepath.Join(root, "layers"))
	if len(layers) != 3 {
		t.Errorf("%d layer dirs, want 3", len(layers))
	}
	s, _ := Open(root)
	if list, _ := s.List(); len(list) != 1 {
		t.Errorf("%d images, want 1", len(list))
	}
	assertNoTemp(t, s)
}

func assertNoTemp(t *testing.T, s *Store) {
	t.Helper()
	if tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
}

// TestPullInsecureTLS: a registry with a self-signed certificate is refused, and accepted
// with Insecure (docker's --insecure-registry, our --insecure).
func TestPullInsecureTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	img := testutil.BuildImage(t, v1.Config{}, testutil.Tar(t, "f", "tls"))
	push(t, host+"/tls:1", img, remote.WithTransport(srv.Client().Transport))
	s := openStore(t)
	if _, err := s.Pull(context.Background(), host+"/tls:1", PullOptions{Retries: -1}); err == nil {
		t.Fatal("pull from a registry with an unverifiable certificate succeeded without Insecure")
	}
	got, err := s.Pull(context.Background(), host+"/tls:1", PullOptions{Insecure: true})
	if err != nil {
		t.Fatalf("pull with Insecure: %v", err)
	}
	if id, _ := img.ConfigName(); got.ID != id.String() {
		t.Errorf("ID = %s", got.ID)
	}
}

// TestPullInterruptedLeavesNothing: a pull cancelled while a layer is downloading leaves no
// layer, blob or image visible, and nothing in tmp/.
func TestPullInterruptedLeavesNothing(t *testing.T) {
	img := threeLayers(t)
	layers, _ := img.Layers()
	slow, _ := layers[1].Digest()
	size, _ := layers[1].Size()
	ctx, cancel := context.WithCancel(context.Background())
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+slow.String()) {
				// The true length (a wrong one is refused before the body is read), and
				// only the first bytes of the body.
				w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
				w.WriteHeader(http.StatusOK)
				w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
				w.(http.Flusher).Flush()
				cancel() // the client gives up in the middle of the layer
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	push(t, host+"/interrupted:1", img)
	s := openStore(t)
	if _, err := s.Pull(ctx, host+"/interrupted:1", PullOptions{RetryDelay: time.Millisecond}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull = %v, want context.Canceled", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("an image is visible: %v", list)
	}
	for _, d := range []string{"layers", "blobs/sha256"} {
		entries, _ := os.ReadDir(filepath.Join(s.Root(), d))
		for _, e := range entries {
			if e.Name() == slow.Hex || strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s/%s: a partial entry is visible", d, e.Name())
			}
		}
	}
	assertNoTemp(t, s)
}
