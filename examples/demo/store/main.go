// Command store keeps the demo's visit count in a file (on the named volume mounted at
// -dir) and serves it over HTTP: POST /visit adds one and returns the new count, GET /count
// returns it. With -check it is its own healthcheck: it asks a running store for the count
// and exits 0 if it answers. Standard library only, for a static FROM scratch image.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":9000", "address to listen on (with -check: address to probe)")
	dir := flag.String("dir", "/data", "directory of the count file")
	check := flag.Bool("check", false, "probe a running store and exit 0 if it is healthy")
	flag.Parse()

	if *check {
		if err := probe(*addr); err != nil {
			fmt.Fprintln(os.Stderr, "store unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	c := &counter{path: filepath.Join(*dir, "count")}
	if _, err := c.read(); err != nil {
		log.Fatalf("store: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, _ *http.Request) {
		n, err := c.add()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n)
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) {
		n, err := c.read()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("store: listening on %s, count in %s", *addr, c.path)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// probe asks the store at addr for the count.
func probe(addr string) error {
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/count")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /count: %s", resp.Status)
	}
	return nil
}

// counter is the visit count, kept in a file written atomically (temp file + rename).
type counter struct {
	mu   sync.Mutex
	path string
}

func (c *counter) read() (int, error) {
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read count: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("parse count in %s: %w", c.path, err)
	}
	return n, nil
}

func (c *counter) add() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.read()
	if err != nil {
		return 0, err
	}
	n++
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".count-*")
	if err != nil {
		return 0, fmt.Errorf("write count: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintln(tmp, n); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("write count: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write count: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return 0, fmt.Errorf("write count: %w", err)
	}
	return n, nil
}
