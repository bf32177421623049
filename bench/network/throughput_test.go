//go:build integration

// Package network_test benchmarks bulk TCP throughput into a container through a published
// port (DNAT from 127.0.0.1) against the container's bridge address directly, in one run.
//
//	go test -tags integration -run '^$' -bench Throughput -benchtime 3x ./bench/network/
package network_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/network"
)

func init() { goruntime.LockOSThread() }

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == network.DNSRole {
		if err := network.DNSMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const transferBytes = 1 << 30 // per measurement

// sink accepts connections inside the container's namespace, reads to EOF and answers with
// the byte count, so the sender's clock stops only when everything arrived.
func sink(b *testing.B, ns string) {
	var l net.Listener
	if err := testutil.InNetns(b, ns, func() (err error) {
		l, err = net.Listen("tcp4", ":5001")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, c)
			_ = binary.Write(c, binary.BigEndian, n)
			c.Close()
		}
	}()
}

// send pushes transferBytes to addr and returns MB/s.
func send(b *testing.B, addr string) float64 {
	buf := make([]byte, 256<<10)
	start := time.Now()
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	for sent := 0; sent < transferBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	var got int64
	if err := binary.Read(c, binary.BigEndian, &got); err != nil || got != transferBytes {
		b.Fatalf("receiver got %d bytes, %v", got, err)
	}
	return float64(transferBytes) / 1e6 / time.Since(start).Seconds()
}

func BenchmarkThroughput(b *testing.B) {
	testutil.RequireRoot(b)
	ctx := context.Background()
	root := testutil.TempRoot(b)
	m, err := network.Open(root, filepath.Join(root, "run"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = m.Sweep(ctx, func(string) bool { return false })
		_ = m.Remove(ctx, "bench")
	})
	if _, err := m.Ensure(ctx, network.Config{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	ns := testutil.NewNetns(b)
	e, err := m.Connect(ctx, "bench", "sink", ns, network.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ports, err := m.Publish(ctx, "sink", e.IP, []network.Port{{ContainerPort: 5001}})
	if err != nil {
		b.Fatal(err)
	}
	sink(b, ns)
	direct := netip.AddrPortFrom(e.IP, 5001).String()
	published := fmt.Sprintf("127.0.0.1:%d", ports[0].HostPort)

	var directMBs, publishedMBs float64
	b.ResetTimer()
	for range b.N { // alternate, so both see the same machine state
		directMBs += send(b, direct)
		publishedMBs += send(b, published)
	}
	b.StopTimer()
	directMBs /= float64(b.N)
	publishedMBs /= float64(b.N)
	b.ReportMetric(directMBs, "direct-MB/s")
	b.ReportMetric(publishedMBs, "published-MB/s")
	b.ReportMetric(100*publishedMBs/directMBs, "ratio-%")
	fmt.Printf("bulk TCP into a container, %d MiB per transfer, %d rounds: direct %.0f MB/s, published 127.0.0.1 %.0f MB/s, ratio %.0f%%\n",
		transferBytes>>20, b.N, directMBs, publishedMBs, 100*publishedMBs/directMBs)
}
