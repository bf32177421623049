package runtime

import (
	"slices"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerDeviceRules is Docker's default device list, as the v1 devices files take it.
var dockerDeviceRules = []string{
	"c *:* m", "b *:* m",
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
	"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
}

func TestDeviceRules(t *testing.T) {
	rules := resources(&Spec{}).Devices
	if len(rules) == 0 || rules[0].Allow || deviceRule(rules[0]) != "a *:* rwm" {
		t.Fatalf("the first rule must deny everything: %+v", rules)
	}
	var allowed []string
	for _, d := range rules[1:] {
		if !d.Allow {
			t.Errorf("a second deny: %s", deviceRule(d))
		}
		allowed = append(allowed, deviceRule(d))
	}
	if !slices.Equal(allowed, dockerDeviceRules) {
		t.Errorf("allowed %q\nwant Docker's %q", allowed, dockerDeviceRules)
	}
	priv := resources(&Spec{Privileged: true}).Devices
	if len(priv) != 1 || !priv[0].Allow || deviceRule(priv[0]) != "a *:* rwm" {
		t.Errorf("privileged: %+v, want one rule allowing a *:* rwm", priv)
	}
}

func TestV1Needs(t *testing.T) {
	all := []cgroup1.Name{
		cgroup1.Blkio, cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Cpuset, cgroup1.Devices,
		cgroup1.Freezer, cgroup1.Hugetlb, cgroup1.Memory, cgroup1.NetCLS, cgroup1.NetPrio,
		cgroup1.PerfEvent, cgroup1.Pids, cgroup1.Rdma, "systemd",
	}
	needed := func(r *specs.LinuxResources) []cgroup1.Name {
		var out []cgroup1.Name
		for _, n := range all {
			if v1Needs(r, n) {
				out = append(out, n)
			}
		}
		return out
	}
	base := []cgroup1.Name{cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Devices, cgroup1.Freezer, cgroup1.Memory, cgroup1.Pids}
	for name, s := range map[string]Spec{
		"defaults":   {},
		"limits":     {Memory: 64 << 20, CPUs: 1.5, PidsLimit: 10},
		"privileged": {Privileged: true},
	} {
		if got := needed(resources(&s)); !slices.Equal(got, base) {
			t.Errorf("%s: groups in %v, want %v", name, got, base)
		}
	}
	// Limits Spec cannot express yet need their controllers, else the library skips them.
	pinned := resources(&Spec{CPUs: 1})
	pinned.CPU.Cpus = "0"
	if got := needed(pinned); !slices.Contains(got, cgroup1.Cpuset) || slices.Contains(got, cgroup1.Blkio) {
		t.Errorf("CPUs pinned: groups in %v, want cpuset and not blkio", got)
	}
	weight := uint16(500)
	io := resources(&Spec{})
	io.BlockIO = &specs.LinuxBlockIO{Weight: &weight}
	if got := needed(io); !slices.Contains(got, cgroup1.Blkio) || slices.Contains(got, cgroup1.Cpuset) {
		t.Errorf("I/O weight: groups in %v, want blkio and not cpuset", got)
	}
}
