// Command pull benchmarks `stack image pull` against `podman pull` of the same image from
// the same local registry, in one run: it starts Debian's docker-registry on a free loopback
// port, builds a three-layer image of about 50 MB unpacked (a mix of file sizes, partly
// compressible content), pushes it, then has hyperfine time each pull into an empty store
// (the store is removed before every run) and prints the medians and the ratio
// stack/podman (below 1: stack is faster). With -out it also writes each layer as
// layer<N>.tar and layer<N>.tar.gz for the unpack benchmark.
//
//	go run ./bench/image/pull -stack bin/stack -runs 7 [-out DIR]
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/stackhq/stack/internal/testutil"
)

func main() {
	stack := flag.String("stack", "bin/stack", "the stack binary")
	runs := flag.Int("runs", 7, "runs per command")
	out := flag.String("out", "", "directory to write the layer tars to (optional)")
	flag.Parse()
	bin, err := filepath.Abs(*stack)
	check(err)
	work, err := os.MkdirTemp("", "stack-pull-bench-")
	check(err)
	defer os.RemoveAll(work)

	addr, err := testutil.FreeAddr()
	check(err)
	check(os.Mkdir(filepath.Join(work, "registry"), 0o755))
	addr, stop, err := testutil.StartRegistry(filepath.Join(work, "registry"), addr)
	check(err)
	defer stop()
	ref := addr + "/bench/app:1"
	push(ref, *out)
	fmt.Printf("image %s: 3 layers, about 50 MB unpacked\n", ref)

	// podman: a store of its own under the work dir; runc (crun refuses hybrid cgroups) and
	// the host's ulimits, as these machines need.
	conf := filepath.Join(work, "containers.conf")
	check(os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n"), 0o644))
	os.Setenv("CONTAINERS_CONF", conf)
	podman := fmt.Sprintf("podman --root %s/podman-root --runroot %s/podman-run --storage-driver overlay", work, work)
	defer exec.Command("sh", "-c", podman+" rmi -af").Run()

	results := filepath.Join(work, "pull.json")
	cmd := exec.Command("hyperfine", "-N", "--runs", fmt.Sprint(*runs), "--export-json", results,
		"--prepare", "rm -rf "+work+"/stack-root",
		"-n", "stack", bin+" --root "+work+"/stack-root image pull -q "+ref,
		"--prepare", "sh -c '"+podman+" rmi -af >/dev/null 2>&1; rm -rf "+work+"/podman-root "+work+"/podman-run'",
		"-n", "podman", podman+" pull -q --tls-verify=false "+ref)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	check(cmd.Run())
	var r struct {
		Results []struct {
			Command string
			Median  float64
		}
	}
	data, err := os.ReadFile(results)
	check(err)
	check(json.Unmarshal(data, &r))
	med := map[string]float64{}
	for _, x := range r.Results {
		med[x.Command] = x.Median
	}
	fmt.Printf("pull median: stack %.3fs, podman %.3fs, ratio stack/podman %.2f\n", med["stack"], med["podman"], med["stack"]/med["podman"])
}

// push builds the benchmark image and pushes it to ref, writing its layers to out if set.
func push(ref, out string) {
	rng := rand.New(rand.NewSource(1))
	// Unpacked sizes: 15 MB of small files, 20 MB of mid-size files, 15 MB of a few big ones.
	specs := []struct {
		dir            string
		total, maxSize int
	}{
		{"usr/lib", 15 << 20, 64 << 10},
		{"opt/app/lib", 20 << 20, 1 << 20},
		{"opt/app/data", 15 << 20, 5 << 20},
	}
	img := empty.Image
	for i, sp := range specs {
		data := layerTar(rng, sp.dir, sp.total, sp.maxSize)
		if out != "" {
			write(filepath.Join(out, fmt.Sprintf("layer%d.tar", i+1)), data)
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			write(filepath.Join(out, fmt.Sprintf("layer%d.tar.gz", i+1)), gz.Bytes())
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		check(err)
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "layer " + sp.dir}})
		check(err)
	}
	cf, err := img.ConfigFile()
	check(err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cf)
	check(err)
	r, err := name.ParseReference(ref)
	check(err)
	check(remote.Write(r, img))
}

// layerTar makes a layer of files under dir totalling about total bytes, each at most
// maxSize; content alternates random and repetitive runs (compresses about 2:1).
func layerTar(rng *rand.Rand, dir string, total, maxSize int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{dir, dir + "/sub1", dir + "/sub2", dir + "/sub3"} {
		check(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}))
	}
	for n, written := 0, 0; written < total; n++ {
		size := 1 + rng.Intn(maxSize)
		body := make([]byte, size)
		for off := 0; off < size; off += 4096 {
			end := min(off+4096, size)
			if (off/4096)%2 == 0 {
				rng.Read(body[off:end])
			} else {
				copy(body[off:end], bytes.Repeat([]byte("stack benchmark "), 256))
			}
		}
		name := fmt.Sprintf("%s/sub%d/file%05d", dir, 1+n%3, n)
		check(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(size)}))
		_, err := tw.Write(body)
		check(err)
		written += size
	}
	check(tw.Close())
	return buf.Bytes()
}

func write(p string, data []byte) {
	check(os.WriteFile(p, data, 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
