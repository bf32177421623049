// Command mkimage builds the benchmark image — three layers, about 50 MB unpacked, with a
// mix of file sizes and partly compressible content, like a small distribution plus an
// application — and pushes it to a registry. With -out it also writes each layer as
// layer<N>.tar.gz and layer<N>.tar for the unpack benchmark.
//
//	go run ./bench/image/mkimage -ref 127.0.0.1:5000/bench/app:1 -out DIR
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ref := flag.String("ref", "", "where to push the image (host:port/name:tag)")
	out := flag.String("out", "", "directory to write the layer tars to (optional)")
	flag.Parse()
	if *ref == "" {
		log.Fatal("mkimage: -ref is required")
	}
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
		if *out != "" {
			write(filepath.Join(*out, fmt.Sprintf("layer%d.tar", i+1)), data)
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			write(filepath.Join(*out, fmt.Sprintf("layer%d.tar.gz", i+1)), gz.Bytes())
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			log.Fatal(err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "layer " + sp.dir}}); err != nil {
			log.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	r, err := name.ParseReference(*ref)
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		log.Fatal(err)
	}
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
