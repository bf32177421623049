// Package bench holds the benchmarks of stack. This file measures spec.Load, which every
// command that reads a stack file pays first (`stack diff` with nothing to change must take
// at most 50 ms in all).
//
//	go test ./bench -run '^$' -bench BenchmarkLoad -benchmem
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhq/stack/spec"
)

// stackFile writes a stack of n services, each with the keys a real service uses.
func stackFile(b *testing.B, n int) string {
	b.Helper()
	var s strings.Builder
	s.WriteString("name: bench\nx-env: &env\n  LOG_LEVEL: info\n  REGION: ${REGION:-eu}\nservices:\n")
	for i := range n {
		fmt.Fprintf(&s, `  svc%03d:
    image: registry.local/app/svc%03d:1.${MINOR:-0}
    command: ["/app", "--port", "%d"]
    environment:
      <<: *env
      INDEX: "%d"
    ports: ["%d:8080", "127.0.0.1::9000/udp"]
    volumes: ["./data/%03d:/data", "cache:/cache:ro"]
    tmpfs: ["/tmp:size=64m"]
    healthcheck:
      test: ["CMD", "/app", "-check"]
      interval: 5s
    depends_on:
      svc%03d: {condition: service_started}
    restart: unless-stopped
    mem_limit: 256m
    labels: {team: t%d}
`, i, i, 8000+i, i, 10000+i, i, max(i-1, 0), i%7)
		if i == 0 {
			// The first service has no dependency.
			str := s.String()
			s.Reset()
			s.WriteString(strings.Replace(str, "    depends_on:\n      svc000: {condition: service_started}\n", "", 1))
		}
	}
	s.WriteString("volumes:\n  cache:\n")
	dir := b.TempDir()
	path := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			path := stackFile(b, n)
			opts := spec.LoadOptions{Files: []string{path}, Environ: []string{"MINOR=2"}}
			p, err := spec.Load(opts)
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Services) != n || len(p.Warnings) != 0 {
				b.Fatalf("%d services, warnings %v", len(p.Services), p.Warnings)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := spec.Load(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConfigHash(b *testing.B) {
	p, err := spec.Load(spec.LoadOptions{Files: []string{stackFile(b, 100)}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, s := range p.Services {
			_ = s.ConfigHash()
		}
	}
}
