package testutil

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Registry starts Debian's docker-registry (distribution v2) on a free 127.0.0.1 port with a
// temp storage directory and returns its host:port; it is stopped when the test ends. The
// test is skipped when the package is not installed (make deps installs it).
func Registry(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Skip("SKIP: docker-registry is not installed (apt-get install docker-registry, or make deps)")
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := StartRegistry(t.TempDir(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if logs := stop(); t.Failed() {
			t.Logf("docker-registry output:\n%s", logs)
		}
	})
	return addr
}

// StartRegistry starts docker-registry listening on addr (a 127.0.0.1 address) with its
// storage and config in dir, and waits until it answers. stop kills it, waits for it and
// returns what it printed. The benchmarks use it too.
func StartRegistry(dir, addr string) (string, func() string, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", nil, err
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start docker-registry: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() string {
		cmd.Process.Kill()
		<-done
		return logs.String()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, stop, nil
			}
		}
		select {
		case <-done:
			return "", nil, fmt.Errorf("docker-registry exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			out := stop()
			return "", nil, fmt.Errorf("docker-registry did not answer on %s: %v\n%s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// BuildImage makes an image in memory from layer tars (base first) with go-containerregistry's
// mutate package, with config applied, one history entry per layer.
func BuildImage(t testing.TB, config v1.Config, layers ...[]byte) v1.Image {
	t.Helper()
	img := empty.Image
	for i, data := range layers {
		data := data
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
			CreatedBy: fmt.Sprintf("layer %d", i),
			Created:   v1.Time{Time: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = config
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// BusyboxImage is a one-layer image of BusyboxTar with sh as its command.
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	return BuildImage(t, v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}, BusyboxTar(t))
}

// Tar builds a layer tar from path → content pairs; a path ending in "/" is a directory.
// Docker whiteouts are written as given (".wh.name", ".wh..wh..opq").
func Tar(t testing.TB, entries ...string) []byte {
	t.Helper()
	if len(entries)%2 != 0 {
		t.Fatal("testutil.Tar: entries are path, content pairs")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		p, body := entries[i], entries[i+1]
		h := &tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(body))}
		if p[len(p)-1] == '/' {
			h = &tar.Header{Typeflag: tar.TypeDir, Name: p, Mode: 0o755}
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(body))
		must(t, err)
	}
	must(t, tw.Close())
	return buf.Bytes()
}
