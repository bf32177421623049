// Command unpack compares the layer unpacker with GNU tar on the same layers: for each
// file, `tar -xf` (or -xzf) into a fresh directory against what a pull does with the same
// bytes (image.Decompress — klauspost gzip on a read-ahead goroutine — then image.Unpack),
// and, for the record, image.Unpack behind the standard library's gzip on the same
// goroutine. Runs are interleaved; medians are printed with the ratio to tar (below 1:
// faster than tar).
//
//	go run ./bench/image/unpack -runs 7 DIR/layer1.tar.gz DIR/layer1.tar ...
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stackhq/stack/runtime/image"
)

func main() {
	runs := flag.Int("runs", 5, "runs per method")
	flag.Parse()
	work, err := os.MkdirTemp("", "stack-unpack-bench-")
	check(err)
	defer os.RemoveAll(work)

	fmt.Printf("%-14s %10s %10s %14s %11s %14s\n", "layer", "tar -x", "stack", "stack/tar", "std gzip", "std gzip/tar")
	for _, layer := range flag.Args() {
		gz := strings.HasSuffix(layer, ".gz")
		methods := []func(dir string) error{
			func(dir string) error {
				flags := "-xf"
				if gz {
					flags = "-xzf"
				}
				out, err := exec.Command("tar", flags, layer, "-C", dir).CombinedOutput()
				if err != nil {
					return fmt.Errorf("tar: %v: %s", err, out)
				}
				return nil
			},
			func(dir string) error { return unpack(layer, dir, false) },
			func(dir string) error { return unpack(layer, dir, gz) },
		}
		times := make([][]time.Duration, len(methods))
		for r := 0; r < *runs; r++ {
			for m, fn := range methods {
				dir := filepath.Join(work, fmt.Sprintf("%d-%d", r, m))
				check(os.Mkdir(dir, 0o755))
				start := time.Now()
				check(fn(dir))
				times[m] = append(times[m], time.Since(start))
				check(os.RemoveAll(dir))
			}
		}
		med := make([]time.Duration, len(methods))
		for m := range methods {
			sort.Slice(times[m], func(i, j int) bool { return times[m][i] < times[m][j] })
			med[m] = times[m][len(times[m])/2]
		}
		fmt.Printf("%-14s %10s %10s %14.2f %11s %14.2f\n", filepath.Base(layer),
			med[0].Round(time.Millisecond), med[1].Round(time.Millisecond), float64(med[1])/float64(med[0]),
			med[2].Round(time.Millisecond), float64(med[2])/float64(med[0]))
	}
}

// unpack extracts layer into dir: with stdGzip through compress/gzip on this goroutine,
// otherwise as a pull does, through image.Decompress.
func unpack(layer, dir string, stdGzip bool) error {
	f, err := os.Open(layer)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.ReadCloser
	if stdGzip {
		r, err = gzip.NewReader(f)
	} else {
		r, err = image.Decompress(f)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = image.Unpack(r, dir)
	return err
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
