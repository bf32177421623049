//go:build integration

package runtime

import (
	"fmt"
	"os"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
)

// BenchmarkCgroupCreateRemove is a container's cgroup from creation to removal, as a start
// and the monitor's teardown do it: without limits (`run --rm IMAGE /bin/true`) and with
// memory, CPU and pids limits.
func BenchmarkCgroupCreateRemove(b *testing.B) {
	testutil.RequireRoot(b)
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"Defaults", Spec{}},
		{"Limits", Spec{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("bench-%d-%d", os.Getpid(), i)
				if _, err := createCgroup(id, &bc.spec); err != nil {
					b.Fatal(err)
				}
				if !removeEmptyCgroup(id) {
					b.Fatalf("cgroup %s not removed", id)
				}
			}
		})
	}
}
