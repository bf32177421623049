package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// initConfig is everything the container's start needs from the container's spec and image,
// resolved by Start and sent to the monitor over its config pipe (see monitorConfigFd).
type initConfig struct {
	Args       []string
	Env        []string
	Cwd        string
	User       string
	Hostname   string
	Domainname string
	Tty        bool
	Reaper     bool // --init: stay as PID 1, reap zombies, forward signals
	ReadOnly   bool
	Privileged bool
	Caps       capMask
	NoNewPrivs bool
	Ulimits    []Ulimit
	Sysctls    map[string]string
	Mounts     []Mount
	Rootfs     string // the overlay mount point on the host side
	Hosts      string // host-side files bind-mounted into /etc
	ResolvConf string
	HostnameF  string
}

// initError travels from the container's start to the caller of Start, so the user sees
// "executable file not found" with exit code 127.
type initError struct {
	Code int    // process exit code for the CLI: 125 setup, 126 not executable, 127 not found
	Msg  string // the message
	Kind string `json:",omitempty"` // "notfound", "permission", "user": maps back to sentinels
}

// Masked and read-only paths of /proc and /sys, as Docker has them: kernel memory, keys and
// timers stay hidden (bind of /dev/null or an empty read-only tmpfs), and the writable-looking
// kernel knobs are read-only.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// The start of a container's process, in two halves (see spawn.go for why):
//
// On the monitor's locked main thread, in fresh mount, UTS and IPC namespaces of its own
// (entered with unshare, left again after the fork) and in the container's network
// namespace and cgroup, prepareRootfs:
//
//  1. makes every mount private, so nothing below propagates to the host;
//  2. mounts a minimal /dev, /sys (of the container's network namespace), the /etc files and
//     the user's binds and tmpfs inside the rootfs (targets resolved inside it with
//     securejoin: a symlink in the image cannot point a mount at the host), masks /sys paths;
//  3. sets the namespaced sysctls (a write to /proc/sys applies to the writer's namespaces),
//     the hostname, and resolves the user in the image's /etc/passwd, creates the working
//     directory and finds the executable in the container's $PATH (errors 126/127 and
//     unknown users are reported from here, with Go's messages); remounts the root
//     read-only when asked.
//
// Then the forked child, the container's PID 1 in its new PID namespace, runs the program
// initProgram builds: it mounts /proc (which must be mounted from inside the PID namespace),
// masks it and makes its kernel knobs read-only, pivots into the rootfs and detaches the old
// root (no path leads back to the host), sets rlimits and the working directory, installs
// seccomp while still privileged (or last, with no_new_privs), drops the capability bounding
// set, changes to the user and group IDs and sets the capability sets (root keeps Docker's
// set; other users keep none, as in Docker ≥ 20.10), resets every signal disposition, and
// execs. With --init it forks once more first and stays PID 1 (see opReap).

// prepared is what prepareRootfs found for the child.
type prepared struct {
	proc    string // the host-side path of the container's /proc mount point
	devNull string // and of its /dev/null (what masks files)
	cgroups []cgroupMount
	// cgroupTmpfs is the tmpfs holding the v1 hierarchies' mount points, remounted
	// read-only once they are mounted ("" on v2).
	cgroupTmpfs string
	path        string // the executable, as the container sees it
	user        execUser
	env         []string
}

// cgroupMount is a cgroup filesystem the child mounts at /sys/fs/cgroup: inside the
// container's cgroup namespace it shows the container's own group as its root.
type cgroupMount struct{ target, fstype, data string }

// prepareRootfs is the monitor-thread half (see above). console is the terminal to bind at
// /dev/console, if the container has one; hierarchies are the v1 hierarchies the container
// has a group in (see joinThread), which it sees at /sys/fs/cgroup.
func prepareRootfs(cfg *initConfig, console string, hierarchies []string) (*prepared, error) {
	if err := mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, err
	}
	root := cfg.Rootfs
	paths, err := mountSpecial(cfg, console)
	if err != nil {
		return nil, err
	}
	p := &prepared{proc: paths.proc, devNull: filepath.Join(paths.dev, "null")}
	if err := p.prepareCgroups(paths.sys, hierarchies); err != nil {
		return nil, err
	}
	etc := []struct{ src, dst string }{{cfg.Hosts, "/etc/hosts"}, {cfg.ResolvConf, "/etc/resolv.conf"}, {cfg.HostnameF, "/etc/hostname"}}
	for _, e := range etc {
		if err := bindInto(root, e.src, e.dst, false, nil); err != nil {
			return nil, err
		}
	}
	for _, m := range cfg.Mounts {
		if err := mountUser(root, m); err != nil {
			return nil, err
		}
	}
	if !cfg.Privileged {
		for _, masked := range maskedPaths {
			if !strings.HasPrefix(masked, "/sys/") {
				continue // /proc is the child's (see initProgram)
			}
			if err := maskPath(root, masked); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range cfg.Sysctls {
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return nil, fmt.Errorf("set sysctl %s=%s: %w", k, v, err)
		}
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return nil, fmt.Errorf("sethostname %q: %w", cfg.Hostname, err)
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return nil, fmt.Errorf("setdomainname %q: %w", cfg.Domainname, err)
		}
	}
	user, err := resolveUser(root, cfg.User)
	if err != nil {
		return nil, &startError{initError{Code: 125, Kind: "user", Msg: err.Error()}}
	}
	path, err := lookPath(root, cfg.Cwd, cfg.Args[0], cfg.Env)
	if err != nil {
		if errors.Is(err, ErrExecPermission) {
			return nil, &startError{initError{Code: 126, Kind: "permission", Msg: err.Error()}}
		}
		return nil, &startError{initError{Code: 127, Kind: "notfound", Msg: err.Error()}}
	}
	if err := mkdirAs(root, cfg.Cwd, user); err != nil {
		return nil, err
	}
	if cfg.ReadOnly {
		if err := mount("", root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return nil, err
		}
	}
	env := cfg.Env
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+user.Home)
	}
	p.path, p.user, p.env = path, user, env
	return p, nil
}

// prepareCgroups plans /sys/fs/cgroup as Docker has it: on v2 the unified tree; on v1 a
// tmpfs with a directory per hierarchy (and a symlink per controller of a co-mounted one,
// "cpu" → "cpu,cpuacct"). Only hierarchies the container has a group in are shown: in the
// others its cgroup namespace is rooted at the monitor's group, which is the host's.
func (p *prepared) prepareCgroups(sys string, hierarchies []string) error {
	dir := filepath.Join(sys, "fs", "cgroup")
	if unified() {
		p.cgroups = []cgroupMount{{target: dir, fstype: "cgroup2"}}
		return nil
	}
	if err := mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return err
	}
	p.cgroupTmpfs = dir
	for _, controllers := range hierarchies {
		name := strings.TrimPrefix(controllers, "name=")
		if err := os.Mkdir(filepath.Join(dir, name), 0o555); err != nil {
			return fmt.Errorf("create /sys/fs/cgroup/%s: %w", name, err)
		}
		if parts := strings.Split(name, ","); len(parts) > 1 {
			for _, c := range parts {
				if err := os.Symlink(name, filepath.Join(dir, c)); err != nil {
					return fmt.Errorf("create /sys/fs/cgroup/%s: %w", c, err)
				}
			}
		}
		p.cgroups = append(p.cgroups, cgroupMount{target: filepath.Join(dir, name), fstype: "cgroup", data: controllers})
	}
	return nil
}

// initProgram builds the child half (see above). stdio are the descriptors that become the
// program's 0, 1 and 2; filter is the seccomp program (nil: none).
func initProgram(cfg *initConfig, p *prepared, stdio [3]int, errFd int, filter []unix.SockFilter) *childProgram {
	prog := &childProgram{errFd: errFd}
	add := prog.add
	add("prctl(PR_SET_PDEATHSIG)", 0, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL))
	for i, fd := range stdio {
		add(fmt.Sprintf("dup3(%d, %d)", fd, i), 0, unix.SYS_DUP3, uintptr(fd), uintptr(i), 0)
	}
	// The cgroup namespace's root becomes the container's cgroup, which the child was born in.
	add("unshare(CLONE_NEWCGROUP)", 0, unix.SYS_UNSHARE, unix.CLONE_NEWCGROUP)
	root := cfg.Rootfs
	mountOp := func(src, target, fstype string, flags uintptr, data string, ignore syscall.Errno) {
		what := (&MountError{Source: src, Target: strings.TrimPrefix(target, root), FSType: fstype, Flags: flags, Data: data}).describe()
		var d uintptr
		if data != "" {
			d = prog.str(data)
		}
		var s, t uintptr
		if src != "" {
			s = prog.str(src)
		}
		t = prog.str(target)
		if fstype != "" {
			add(what, ignore, unix.SYS_MOUNT, s, t, prog.str(fstype), flags, d)
		} else {
			add(what, ignore, unix.SYS_MOUNT, s, t, 0, flags, d)
		}
	}
	const nosuidNodevNoexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	mountOp("proc", p.proc, "proc", nosuidNodevNoexec, "", 0)
	cgroupFlags := uintptr(nosuidNodevNoexec | unix.MS_RDONLY)
	if cfg.Privileged {
		cgroupFlags &^= unix.MS_RDONLY
	}
	for _, m := range p.cgroups {
		mountOp(m.fstype, m.target, m.fstype, cgroupFlags, m.data, 0)
	}
	if p.cgroupTmpfs != "" {
		mountOp("", p.cgroupTmpfs, "", unix.MS_REMOUNT|cgroupFlags, "mode=755", 0)
	}
	if !cfg.Privileged {
		// Paths the kernel does not have are skipped (ENOENT); the host's /proc tells
		// which are directories, as the container's shows the same kernel.
		for _, path := range maskedPaths {
			if !strings.HasPrefix(path, "/proc/") {
				continue
			}
			target := p.proc + strings.TrimPrefix(path, "/proc")
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				mountOp("tmpfs", target, "tmpfs", unix.MS_RDONLY, "size=0", unix.ENOENT)
			} else {
				mountOp(p.devNull, target, "", unix.MS_BIND, "", unix.ENOENT)
			}
		}
		for _, path := range readonlyPaths {
			target := p.proc + strings.TrimPrefix(path, "/proc")
			mountOp(target, target, "", unix.MS_BIND|unix.MS_REC, "", unix.ENOENT)
			mountOp("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|nosuidNodevNoexec, "", unix.ENOENT)
		}
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at "/"; detaching it
	// leaves only the container's tree.
	add("chdir to the rootfs", 0, unix.SYS_CHDIR, prog.str(root))
	add("pivot_root into the rootfs", 0, unix.SYS_PIVOT_ROOT, prog.str("."), prog.str("."))
	add("detach the old root", 0, unix.SYS_UMOUNT2, prog.str("."), unix.MNT_DETACH)
	add("chdir "+cfg.Cwd, 0, unix.SYS_CHDIR, prog.str(cfg.Cwd))
	for _, u := range cfg.Ulimits {
		lim := unix.Rlimit{Cur: uint64(u.Soft), Max: uint64(u.Hard)}
		add(fmt.Sprintf("set ulimit %s=%d:%d", u.Name, u.Soft, u.Hard), 0, unix.SYS_PRLIMIT64, 0, uintptr(rlimitByName[u.Name]), ptr(prog, lim), 0)
	}
	add("umask", 0, unix.SYS_UMASK, 0o022)
	if cfg.Tty {
		add("setsid", 0, unix.SYS_SETSID)
		add("set the controlling terminal", 0, unix.SYS_IOCTL, 0, unix.TIOCSCTTY, 0)
	}
	seccomp := func() {
		if filter == nil {
			return
		}
		insts := append([]unix.SockFilter(nil), filter...)
		prog.keep = append(prog.keep, insts)
		fprog := unix.SockFprog{Len: uint16(len(insts)), Filter: &insts[0]}
		add(fmt.Sprintf("seccomp(SECCOMP_SET_MODE_FILTER, %d instructions)", len(filter)), 0, unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, ptr(prog, fprog))
	}
	// Installing a filter needs CAP_SYS_ADMIN unless no_new_privs is set: without it, the
	// filter goes in while still privileged; with it, as late as possible (as runc does),
	// so the filter does not have to allow the credential changes.
	if cfg.NoNewPrivs {
		add("prctl(PR_SET_NO_NEW_PRIVS)", 0, unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1)
	} else {
		seccomp()
	}
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if cfg.Caps&(1<<c) == 0 {
			add(fmt.Sprintf("prctl(PR_CAPBSET_DROP, %d)", c), unix.EINVAL, unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c))
		}
	}
	add("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", 0, unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	u := p.user
	gids := make([]uint32, len(u.Groups))
	for i, g := range u.Groups {
		gids[i] = uint32(g)
	}
	var groups uintptr
	if len(gids) > 0 {
		prog.keep = append(prog.keep, gids)
		groups = uintptr(unsafe.Pointer(&gids[0]))
	}
	add(fmt.Sprintf("setgroups %v", u.Groups), 0, unix.SYS_SETGROUPS, uintptr(len(gids)), groups)
	add(fmt.Sprintf("setresgid %d", u.GID), 0, unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID))
	add(fmt.Sprintf("setresuid %d", u.UID), 0, unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID))
	if u.UID == 0 { // other users: the kernel cleared the permitted and effective sets
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		data[0].Effective, data[0].Permitted = uint32(cfg.Caps), uint32(cfg.Caps)
		data[1].Effective, data[1].Permitted = uint32(cfg.Caps>>32), uint32(cfg.Caps>>32)
		add(fmt.Sprintf("capset %#x", uint64(cfg.Caps)), 0, unix.SYS_CAPSET, ptr(prog, hdr), ptr(prog, data))
	}
	// Changing credentials cleared the parent-death signal; the container dies with its
	// monitor (whose thread that forked us lives as long as the monitor).
	add("prctl(PR_SET_PDEATHSIG)", 0, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL))
	// The signals the monitor ignores stay ignored through fork and exec (the runtime resets
	// only those it handles): the program starts with every signal at its default action,
	// none blocked.
	dflPtr := ptr(prog, [4]uint64{}) // struct sigaction: SIG_DFL, no flags, empty mask
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		if signal.Ignored(sig) {
			add(fmt.Sprintf("reset signal %d", sig), 0, unix.SYS_RT_SIGACTION, uintptr(sig), dflPtr, 0, 8)
		}
	}
	if cfg.NoNewPrivs {
		seccomp()
	}
	if cfg.Reaper {
		add("block signals", 0, unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, ptr(prog, ^uint64(0)), 0, 8)
		add("fork the program under init", 0, opReap)
	}
	add("unblock signals", 0, unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, ptr(prog, uint64(0)), 0, 8)
	add("exec "+p.path, 0, opExec, prog.str(p.path), prog.strv(cfg.Args), prog.strv(p.env))
	return prog
}

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &MountError{Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: err}
	}
	return nil
}

// inRoot resolves a container path inside root, following symlinks as if root were "/"
// (securejoin), and creates the target (a directory, or an empty file when isFile) if it is
// missing.
func inRoot(root, target string, isFile bool) (string, error) {
	p, err := securejoin.SecureJoin(root, target)
	if err != nil {
		return "", fmt.Errorf("resolve %s in rootfs: %w", target, err)
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		if isFile {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", fmt.Errorf("create mount point %s: %w", target, err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", fmt.Errorf("create mount point %s: %w", target, err)
			}
			f.Close()
		} else if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("create mount point %s: %w", target, err)
		}
	}
	return p, nil
}

// specialPaths are the host-side paths of the rootfs's /proc (a mount point the child
// mounts), /dev and /sys.
type specialPaths struct{ proc, dev, sys string }

// mountSpecial mounts a minimal /dev and /sys inside the rootfs and creates /proc.
func mountSpecial(cfg *initConfig, console string) (paths specialPaths, err error) {
	root := cfg.Rootfs
	const nosuidNodevNoexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	sysFlags := uintptr(nosuidNodevNoexec | unix.MS_RDONLY)
	if cfg.Privileged {
		sysFlags &^= unix.MS_RDONLY
	}
	if paths.proc, err = inRoot(root, "/proc", false); err != nil {
		return paths, err
	}
	type m struct {
		target, fstype string
		flags          uintptr
		data           string
	}
	for _, x := range []m{
		{"/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{"/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"/dev/shm", "tmpfs", nosuidNodevNoexec, "mode=1777,size=65536k"},
		{"/dev/mqueue", "mqueue", nosuidNodevNoexec, ""},
		{"/sys", "sysfs", sysFlags, ""},
	} {
		p, err := inRoot(root, x.target, false)
		if err != nil {
			return paths, err
		}
		if x.target == "/sys" {
			paths.sys = p
		}
		if err := mount(x.fstype, p, x.fstype, x.flags, x.data); err != nil {
			return paths, err
		}
	}
	if paths.dev, err = securejoin.SecureJoin(root, "/dev"); err != nil {
		return paths, fmt.Errorf("resolve /dev in rootfs: %w", err)
	}
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(paths.dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return paths, fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := unix.Chmod(p, 0o666); err != nil { // the umask applied to mknod
			return paths, fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	for name, target := range map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "core": "/proc/kcore",
	} {
		if err := os.Symlink(target, filepath.Join(paths.dev, name)); err != nil {
			return paths, fmt.Errorf("create /dev/%s: %w", name, err)
		}
	}
	if console != "" {
		// /dev/console is the container's terminal, as in Docker.
		if err := bindInto(root, console, "/dev/console", false, nil); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// bindInto bind-mounts a host path at target inside root, read-only when asked. Read-only
// needs a second mount call: the kernel ignores MS_RDONLY on the bind itself.
func bindInto(root, src, target string, readOnly bool, extra []string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	p, err := inRoot(root, target, !st.IsDir())
	if err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REC)
	if err := mount(src, p, "", flags, ""); err != nil {
		return err
	}
	extraFlags, _ := mountOptions(extra)
	if readOnly || extraFlags != 0 {
		rf := uintptr(unix.MS_BIND|unix.MS_REMOUNT) | extraFlags
		if readOnly {
			rf |= unix.MS_RDONLY
		}
		if err := mount("", p, "", rf, ""); err != nil {
			return err
		}
	}
	return nil
}

// mountOptions turns option words into flags (nosuid, nodev, noexec, ro) and tmpfs data.
func mountOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		switch o {
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw", "suid", "dev", "exec", "rprivate", "private", "rslave", "slave", "rshared", "shared", "bind", "rbind":
		default:
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// mountUser mounts one of the user's binds or tmpfs.
func mountUser(root string, m Mount) error {
	if m.Type == "bind" {
		return bindInto(root, m.Source, m.Target, m.ReadOnly, m.Options)
	}
	p, err := inRoot(root, m.Target, false)
	if err != nil {
		return err
	}
	flags, data := mountOptions(m.Options)
	flags |= unix.MS_NOSUID | unix.MS_NODEV
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	mode := uint64(0o1777)
	if m.TmpfsMode != 0 {
		mode = uint64(m.TmpfsMode.Perm())
		if m.TmpfsMode&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
	}
	opts := []string{"mode=" + strconv.FormatUint(mode, 8)}
	if m.TmpfsSize > 0 {
		opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
	}
	if data != "" {
		opts = append(opts, data)
	}
	return mount("tmpfs", p, "tmpfs", flags, strings.Join(opts, ","))
}

// maskPath hides a path of the rootfs's /sys: an empty read-only tmpfs over a directory,
// /dev/null over a file. Paths the kernel does not have are skipped.
func maskPath(root, path string) error {
	p, err := securejoin.SecureJoin(root, path)
	if err != nil {
		return fmt.Errorf("resolve %s in rootfs: %w", path, err)
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", path, err)
	}
	if st.IsDir() {
		return mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0")
	}
	return mount("/dev/null", p, "", unix.MS_BIND, "")
}

// lookPath finds a command in the container's $PATH (from env, else Docker's default) as
// execve will after a chdir to cwd; root is where the container's "/" is seen from the
// caller (symlinks resolve inside it). "Not found" and "not executable" are told apart for
// 127 and 126. The path returned is the container's.
func lookPath(root, cwd, file string, env []string) (string, error) {
	check := func(p string) error {
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		hp, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return err
		}
		st, err := os.Stat(hp)
		if err != nil {
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%w: %s", ErrExecPermission, p)
		}
		return nil
	}
	if strings.Contains(file, "/") {
		if err := check(file); err != nil {
			if errors.Is(err, ErrExecPermission) {
				return "", err
			}
			return "", fmt.Errorf("exec: %q: %w", file, ErrExecNotFound)
		}
		return file, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var permErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := check(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrExecPermission) && permErr == nil {
			permErr = err
		}
	}
	if permErr != nil {
		return "", permErr
	}
	return "", fmt.Errorf("exec: %q: %w", file, ErrExecNotFound)
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// mkdirAs creates the working directory dir (a container path; root as in lookPath) if it
// is missing, as Docker does, owned by the user.
func mkdirAs(root, dir string, u execUser) error {
	p, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return fmt.Errorf("resolve working directory %s: %w", dir, err)
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("create working directory %s: %w", dir, err)
	}
	if err := os.Chown(p, u.UID, u.GID); err != nil {
		return fmt.Errorf("create working directory %s: %w", dir, err)
	}
	return nil
}

// exitStatus is the shell's convention: the exit code, or 128+signal.
func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
