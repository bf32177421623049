package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroup is a container's control group: /stack/<id> in the v1 hierarchies the runtime uses
// (hybrid hosts like the development machines, where only hugetlb lives on the unified tree;
// see v1Needs) or in the unified v2 tree when the host is pure cgroup2. Limits: memory (swap
// off, so the limit is the limit), CPU quota, pids; the devices controller allows only the
// standard pseudo-devices, and the freezer implements pause.
type cgroup struct {
	id string
	v1 cgroup1.Cgroup
	v2 *cgroup2.Manager
}

const cgroupParent = "/stack"

// cgroupMountpoint is where the v1 hierarchies or the v2 tree are mounted.
const cgroupMountpoint = "/sys/fs/cgroup"

func unified() bool { return cgroups.Mode() == cgroups.Unified }

// allowedDevices is Docker's default device allow-list: no host device beyond the
// pseudo-devices /dev holds (null, zero, full, random, urandom, tty, console, ptmx, pts),
// plus mknod of anything (creating a node is harmless when opening it is denied).
func allowedDevices() []specs.LinuxDeviceCgroup {
	ptr := func(v int64) *int64 { return &v }
	dev := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			d.Major = ptr(major)
		}
		if minor >= 0 {
			d.Minor = ptr(minor)
		}
		return d
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		dev("c", -1, -1, "m"), dev("b", -1, -1, "m"),
		dev("c", 1, 3, "rwm"), dev("c", 1, 5, "rwm"), dev("c", 1, 7, "rwm"),
		dev("c", 1, 8, "rwm"), dev("c", 1, 9, "rwm"),
		dev("c", 5, 0, "rwm"), dev("c", 5, 1, "rwm"), dev("c", 5, 2, "rwm"),
		dev("c", 136, -1, "rwm"),
	}
}

// resources translates the Spec's limits to the OCI form both cgroup versions take.
func resources(s *Spec) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: allowedDevices()}
	if s.Privileged {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	if s.Memory > 0 {
		limit := s.Memory
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if unified() || fileExists(filepath.Join(cgroupMountpoint, "memory", "memory.memsw.limit_in_bytes")) {
			swap := s.Memory // memory+swap = memory: no swap, so an overrun is an OOM kill
			r.Memory.Swap = &swap
		}
	}
	if s.CPUs > 0 {
		period := uint64(100000)
		quota := int64(s.CPUs * float64(period))
		r.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if s.PidsLimit > 0 {
		limit := s.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return r
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// v1Hierarchy is every v1 hierarchy of the host, read from /proc/self/mountinfo once per
// process: the library's default reads and parses it again on every Load. Loading sees all
// of them, not only those v1Needs creates groups in, so that a group an older version made
// in every hierarchy is still killed and deleted completely.
var v1Hierarchy cgroup1.Hierarchy = sync.OnceValues(cgroup1.Default)

// v1Needs reports whether a container limited by r needs a group in controller n's v1
// hierarchy. Each group costs a mkdir at start and an rmdir at removal (cpuset also copies
// cpus and mems down from its parent), so it is made only where the runtime uses it:
//
//	memory    limit, OOM kill count, usage (stats)
//	cpu       quota
//	cpuacct   CPU time (stats)
//	pids      limit, and whether the cgroup still exists (pids)
//	freezer   pause, and the thaw before killAll
//	devices   the device allow-list, a security boundary
//	cpuset    only to pin CPUs or memory nodes, blkio only to limit I/O: without it the
//	          library would silently skip such a limit; Spec has neither today
//
// never in systemd's named hierarchy, net_cls, net_prio, perf_event, rdma or hugetlb.
func v1Needs(r *specs.LinuxResources, n cgroup1.Name) bool {
	switch n {
	case cgroup1.Memory, cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Pids, cgroup1.Freezer, cgroup1.Devices:
		return true
	case cgroup1.Cpuset:
		return r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "")
	case cgroup1.Blkio:
		return r.BlockIO != nil
	}
	return false
}

// v1Mounted is the library's controllers for the hierarchies v1Needs can ask for, those that
// are mounted under cgroupMountpoint, checked once per process with a statfs each: cheaper
// than the library's default hierarchy (the mount table parsed, a dozen lstats, the huge
// page sizes listed: ~160 µs here), which `stack container run` would pay for one container.
// A controller that is not mounted is skipped, as the library's default does, instead of
// becoming a plain directory in the tmpfs above the hierarchies.
var v1Mounted = sync.OnceValue(func() []cgroup1.Subsystem {
	var mounted []cgroup1.Subsystem
	for _, s := range []cgroup1.Subsystem{
		cgroup1.NewMemory(cgroupMountpoint), cgroup1.NewCpu(cgroupMountpoint),
		cgroup1.NewCpuacct(cgroupMountpoint), cgroup1.NewPids(cgroupMountpoint),
		cgroup1.NewFreezer(cgroupMountpoint), cgroup1.NewDevices(cgroupMountpoint),
		cgroup1.NewCpuset(cgroupMountpoint), cgroup1.NewBlkio(cgroupMountpoint),
	} {
		var st unix.Statfs_t
		err := unix.Statfs(filepath.Join(cgroupMountpoint, string(s.Name())), &st)
		if err == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
			mounted = append(mounted, s)
		}
	}
	return mounted
})

// createCgroup makes the container's cgroup with its limits; on failure it leaves nothing.
func createCgroup(id string, s *Spec) (*cgroup, error) {
	path := cgroupParent + "/" + id
	r := resources(s)
	if unified() {
		res := cgroup2.ToResources(r)
		if s.Memory > 0 {
			swap := int64(0) // v2 counts swap separately
			res.Memory.Swap = &swap
		}
		m, err := cgroup2.NewManager(cgroupMountpoint, path, res)
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", path, err)
		}
		return &cgroup{id: id, v2: m}, nil
	}
	hierarchy := func() ([]cgroup1.Subsystem, error) {
		var subs []cgroup1.Subsystem
		for _, sub := range v1Mounted() {
			if v1Needs(r, sub.Name()) {
				subs = append(subs, sub)
			}
		}
		return subs, nil
	}
	devices := r.Devices
	r.Devices = nil // the library only creates the devices group; writeDeviceRules fills it
	cg, err := cgroup1.New(cgroup1.StaticPath(path), r, cgroup1.WithHierarchy(hierarchy))
	if err == nil {
		err = writeDeviceRules(filepath.Join(cgroupMountpoint, string(cgroup1.Devices), path), devices)
	}
	if err != nil {
		removeEmptyCgroup(id) // no process can be in it yet
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return &cgroup{id: id, v1: cg}, nil
}

// writeDeviceRules writes a v1 device list into the group at dir, in order: a rule that
// denies goes to devices.deny, one that allows to devices.allow (allowedDevices begins by
// denying everything, which drops the list inherited from the parent). The kernel parses
// one rule per write, so that is the floor; the library also opens and closes the file for
// every rule (and registers each descriptor with the poller), which made the 12 rules of
// allowedDevices cost ~210 µs here instead of ~60 µs through one descriptor per file.
// Without the devices hierarchy this fails, where the library's default hierarchy would
// skip it: a container never runs without its allow-list.
func writeDeviceRules(dir string, rules []specs.LinuxDeviceCgroup) error {
	fds := map[string]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, d := range rules {
		file := filepath.Join(dir, "devices.deny")
		if d.Allow {
			file = filepath.Join(dir, "devices.allow")
		}
		fd, ok := fds[file]
		if !ok {
			var err error
			if fd, err = unix.Open(file, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
				return &fs.PathError{Op: "open", Path: file, Err: err}
			}
			fds[file] = fd
		}
		rule := deviceRule(d)
		if _, err := unix.Write(fd, []byte(rule)); err != nil {
			return fmt.Errorf("write %q to %s: %w", rule, file, err)
		}
	}
	return nil
}

// deviceRule is d in the form the v1 devices files take, "TYPE MAJOR:MINOR ACCESS" with "a"
// for any type and "*" for any number ("c 136:* rwm"); the same string the library writes.
func deviceRule(d specs.LinuxDeviceCgroup) string {
	num := func(n *int64) string {
		if n == nil || *n == -1 {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	typ := d.Type
	if typ == "" {
		typ = "a"
	}
	return typ + " " + num(d.Major) + ":" + num(d.Minor) + " " + d.Access
}

// loadCgroup opens an existing container cgroup.
func loadCgroup(id string) (*cgroup, error) {
	path := cgroupParent + "/" + id
	if unified() {
		m, err := cgroup2.Load(path)
		if err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
		return &cgroup{id: id, v2: m}, nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(path), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("load cgroup %s: %w", path, err)
	}
	return &cgroup{id: id, v1: cg}, nil
}

func (c *cgroup) freeze() error {
	var err error
	if c.v2 != nil {
		err = c.v2.Freeze()
	} else {
		err = c.v1.Freeze()
	}
	if err != nil {
		return fmt.Errorf("freeze cgroup %s: %w", c.id, err)
	}
	return nil
}

func (c *cgroup) thaw() error {
	var err error
	if c.v2 != nil {
		err = c.v2.Thaw()
	} else {
		err = c.v1.Thaw()
	}
	if err != nil {
		return fmt.Errorf("thaw cgroup %s: %w", c.id, err)
	}
	return nil
}

// pids lists the processes in the cgroup.
func (c *cgroup) pids() ([]int, error) {
	var out []int
	if c.v2 != nil {
		ps, err := c.v2.Procs(true)
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", c.id, err)
		}
		for _, p := range ps {
			out = append(out, int(p))
		}
		return out, nil
	}
	// Every hierarchy, not only pids: a process is added to them one after the other, so one
	// caught in between (killed while its monitor was adding it) is in some of them only,
	// and any one of them keeps the cgroup from being deleted.
	seen := map[int]bool{}
	for _, sub := range c.v1.Subsystems() {
		ps, err := c.v1.Processes(sub.Name(), true)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) { // ENODEV: being removed
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", c.id, err)
		}
		for _, p := range ps {
			if !seen[p.Pid] {
				seen[p.Pid] = true
				out = append(out, p.Pid)
			}
		}
	}
	if len(seen) == 0 && !fileExists(filepath.Join(cgroupMountpoint, string(cgroup1.Pids), cgroupParent, c.id)) {
		return nil, fmt.Errorf("list cgroup %s: %w", c.id, fs.ErrNotExist)
	}
	return out, nil
}

// joinThread moves the calling thread into the container's cgroup in every v1 hierarchy
// that has it (v2 forks straight into the cgroup with CLONE_INTO_CGROUP instead), so a
// child it forks starts inside, with no moment outside the limits. The returned func moves
// the thread back to where it was, so the calling process is never part of the container
// afterwards.
//
// Why a thread and "0": writing a PID to cgroup.procs (or another task's TID) takes the
// kernel's global threadgroup lock for writing, an RCU grace period per hierarchy — about
// 2 ms each, 20 ms over the ten hierarchies here. A thread moving itself (pid "0" into
// tasks) skips that lock. The files are opened up front, while /sys/fs/cgroup is still the
// host's (exec enters the container's mount namespace in between).
func joinThread(id string) (leave func(), joined []string, err error) {
	orig, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, nil, fmt.Errorf("join cgroup: %w", err)
	}
	var back, into []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	// Lines are "id:controllers:path", one per hierarchy; co-mounted controllers share one.
	for _, line := range strings.Split(strings.TrimSpace(string(orig)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		dir := filepath.Join(cgroupMountpoint, strings.Split(strings.TrimPrefix(parts[1], "name="), ",")[0])
		f, err := os.OpenFile(filepath.Join(dir, cgroupParent, id, "tasks"), os.O_WRONLY, 0)
		if err != nil {
			continue // a hierarchy the container has no group in
		}
		into = append(into, f)
		joined = append(joined, parts[1])
		if b, err := os.OpenFile(filepath.Join(dir, parts[2], "tasks"), os.O_WRONLY, 0); err == nil {
			back = append(back, b)
		}
	}
	defer closeAll(into)
	if len(into) == 0 {
		closeAll(back)
		return nil, nil, fmt.Errorf("join cgroup %s: no hierarchy has it", id)
	}
	leave = func() {
		for _, f := range back {
			_, _ = f.WriteString("0")
		}
		closeAll(back)
	}
	for _, f := range into {
		if _, err := f.WriteString("0"); err != nil {
			leave()
			return nil, nil, fmt.Errorf("join cgroup %s: %w", f.Name(), err)
		}
	}
	return leave, joined, nil
}

// killAll sends SIGKILL to every process of the cgroup until it is empty (a fork between
// the listing and the kill shows up in the next round), thawing first: a frozen task only
// dies once it runs again.
func (c *cgroup) killAll(deadline time.Time) error {
	_ = c.thaw()
	for {
		pids, err := c.pids()
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) {
			return nil // removed meanwhile (by the monitor, after the last process died)
		}
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup %s: %d processes left", c.id, len(pids))
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// removeEmptyCgroup removes the container's cgroup directories directly, which succeeds
// when the cgroup is empty — the usual case, once PID 1 has died and taken its namespace
// with it — without loading the cgroup through the library (which parses the mount table).
// It tries every directory under cgroupMountpoint, not only the hierarchies v1Needs creates
// groups in: older versions made one in every hierarchy, and an rmdir that finds nothing
// costs a few microseconds. It reports false when something is left to kill or remove.
func removeEmptyCgroup(id string) bool {
	dirs := []string{filepath.Join(cgroupMountpoint, cgroupParent, id)}
	if !unified() {
		ents, err := os.ReadDir(cgroupMountpoint)
		if err != nil {
			return false
		}
		dirs = dirs[:0]
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(cgroupMountpoint, e.Name(), cgroupParent, id))
			}
		}
	}
	ok := true
	for _, d := range dirs {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			ok = false
		}
	}
	return ok
}

// delete removes the cgroup (it must be empty); a missing cgroup is fine. A killed process
// leaves the cgroup only once its parent reaped it: when that parent is not this process
// (the monitor of an interrupted start was killed, and init reaps its children), deleting
// is retried until the deadline.
func (c *cgroup) delete(deadline time.Time) error {
	for {
		var err error
		if c.v2 != nil {
			err = c.v2.Delete()
		} else {
			err = c.v1.Delete()
		}
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("delete cgroup %s: %w", c.id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oomKills returns how many processes the kernel's OOM killer killed in this cgroup.
func oomKills(id string) uint64 {
	file, key := filepath.Join(cgroupMountpoint, "memory", cgroupParent, id, "memory.oom_control"), "oom_kill"
	if unified() {
		file = filepath.Join(cgroupMountpoint, cgroupParent, id, "memory.events")
	}
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == key {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}

// Stats are a container's resource usage from its cgroup.
type Stats struct {
	MemoryUsage uint64 // bytes, page cache excluded (as docker stats shows)
	MemoryLimit uint64 // bytes; the host's memory when unlimited
	CPUUsage    uint64 // total CPU time in nanoseconds
	Pids        uint64
}

func (c *cgroup) stats() (Stats, error) {
	var st Stats
	if c.v2 != nil {
		m, err := c.v2.Stat()
		if err != nil {
			return st, fmt.Errorf("stat cgroup %s: %w", c.id, err)
		}
		if m.Memory != nil {
			st.MemoryUsage = m.Memory.Usage - m.Memory.InactiveFile
			st.MemoryLimit = m.Memory.UsageLimit
		}
		if m.CPU != nil {
			st.CPUUsage = m.CPU.UsageUsec * 1000
		}
		if m.Pids != nil {
			st.Pids = m.Pids.Current
		}
		st.MemoryLimit = min(st.MemoryLimit, hostMemory())
		return st, nil
	}
	m, err := c.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return st, fmt.Errorf("stat cgroup %s: %w", c.id, err)
	}
	if m.Memory != nil && m.Memory.Usage != nil {
		st.MemoryUsage = m.Memory.Usage.Usage - m.Memory.TotalInactiveFile
		st.MemoryLimit = m.Memory.Usage.Limit
	}
	if m.CPU != nil && m.CPU.Usage != nil {
		st.CPUUsage = m.CPU.Usage.Total
	}
	if m.Pids != nil {
		st.Pids = m.Pids.Current
	}
	st.MemoryLimit = min(st.MemoryLimit, hostMemory())
	return st, nil
}

// hostMemory is MemTotal from /proc/meminfo: the real bound of an unlimited container.
func hostMemory() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ^uint64(0)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return ^uint64(0)
}
