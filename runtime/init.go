package runtime

import (
	"encoding/json"
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

// initConfig is everything init needs, written by Start to <dir>/init.json and read by init
// before it leaves the host's mount view.
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
	Seccomp    bool // install the container's filter (Container.seccompProgram)
	Ulimits    []Ulimit
	Sysctls    map[string]string
	Mounts     []Mount
	Rootfs     string // the overlay mount point on the host side
	Hosts      string // host-side files bind-mounted into /etc
	ResolvConf string
	HostnameF  string
}

// initError travels from init to the monitor (and on to the caller of Start) over the
// error pipe, so the user sees "executable file not found" with exit code 127.
type initError struct {
	Code int    // process exit code for the CLI: 125 setup, 126 not executable, 127 not found
	Msg  string // the message
	Kind string `json:",omitempty"` // "notfound", "permission", "user": maps back to sentinels
}

// The fds init inherits from the monitor besides stdio.
const (
	initGoFd  = 3 // read: one byte when the monitor has recorded init and it may proceed
	initErrFd = 4 // write, close-on-exec: an initError, or EOF when execve succeeded
)

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

// runInit is the "init" role: the first process in the container's new PID, mount, UTS and
// IPC namespaces (the monitor cloned it inside the pinned network namespace). It runs on the
// main OS thread (locked in cmd/stack's init), because namespaces, credentials, capabilities
// and seccomp filters are per thread and the exec happens from this thread.
//
// Order, and why:
//
//  1. wait for the monitor's go byte (it has read our start time for the liveness check);
//     init was born in the container's cgroup (see monitor.startOnce), so nothing the
//     container starts can escape its limits;
//  2. unshare the cgroup namespace: its root becomes the container's cgroup;
//  3. make every mount private, so nothing below propagates to the host;
//  4. mount /proc, /dev, /sys, the /etc files and the user's binds and tmpfs inside the
//     rootfs (targets resolved inside it with securejoin: a symlink in the image cannot
//     point a mount at the host), then pivot_root into it and detach the old root;
//  5. sysctls (before /proc/sys turns read-only), masked and read-only paths, read-only root;
//  6. hostname, rlimits, user lookup in the image's /etc/passwd, working directory,
//     executable lookup in the container's $PATH (errors 126/127 reported from here);
//  7. seccomp while still privileged (installing it needs CAP_SYS_ADMIN unless
//     no_new_privs), then the capability bounding set, the user and group IDs, and the
//     capability sets (root keeps Docker's set; other users keep none, as in Docker ≥ 20.10);
//  8. execve, which closes the error pipe: the monitor reads EOF and knows the program runs.
func runInit(dir string) {
	syscall.CloseOnExec(initErrFd) // execve closes it: EOF tells the monitor the program runs
	errPipe := os.NewFile(initErrFd, "init-error")
	fail := func(code int, kind string, err error) {
		data, _ := json.Marshal(initError{Code: code, Msg: err.Error(), Kind: kind})
		errPipe.Write(data)
		os.Exit(code)
	}
	var cfg initConfig
	data, err := os.ReadFile(filepath.Join(dir, "init.json"))
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		fail(125, "", fmt.Errorf("read init config: %w", err))
	}
	var b [1]byte
	if n, _ := os.NewFile(initGoFd, "init-go").Read(b[:]); n != 1 {
		os.Exit(125) // the monitor gave up on us
	}
	unix.Close(initGoFd)

	// The filter comes from the container's record, as for exec (Container.seccompProgram),
	// read while the host's files are still in view; it is installed in step 7.
	var filter []unix.SockFilter
	if cfg.Seccomp && !cfg.Privileged {
		c, err := readContainer(dir, "")
		if err == nil {
			filter, err = c.seccompProgram()
		}
		if err != nil {
			fail(125, "", err)
		}
	}
	if err := setupContainer(&cfg); err != nil {
		fail(125, "", err)
	}
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		switch {
		case errors.Is(err, ErrExecPermission):
			fail(126, "permission", err)
		default:
			fail(127, "notfound", err)
		}
	}
	user, err := resolveUser("", cfg.User)
	if err != nil {
		fail(125, "user", err)
	}
	if err := mkdirAs(cfg.Cwd, user); err != nil {
		fail(125, "", err)
	}
	env := cfg.Env
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+user.Home)
	}
	if err := dropPrivileges(&cfg, user, filter); err != nil {
		fail(125, "", err)
	}
	if err := unix.Chdir(cfg.Cwd); err != nil {
		fail(125, "", fmt.Errorf("chdir %s: %w", cfg.Cwd, err))
	}
	if cfg.Tty {
		if _, err := unix.Setsid(); err != nil {
			fail(125, "", fmt.Errorf("setsid: %w", err))
		}
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			fail(125, "", fmt.Errorf("set controlling terminal: %w", err))
		}
	}
	// Changing credentials cleared the parent-death signal the monitor asked for at clone;
	// set it again so the container dies with its monitor (the monitor's thread that cloned
	// us stays alive as long as the monitor does).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fail(125, "", fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", err))
	}
	if cfg.Reaper {
		reap(path, cfg.Args, env, errPipe, fail)
		return
	}
	err = unix.Exec(path, cfg.Args, env)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOEXEC) {
		fail(126, "permission", fmt.Errorf("exec %s: %w: %w", path, ErrExecPermission, err))
	}
	fail(127, "notfound", fmt.Errorf("exec %s: %w", path, err))
}

// setupContainer is steps 2 to 6 up to the hostname (see runInit).
func setupContainer(cfg *initConfig) error {
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWCGROUP): %w", err)
	}
	if err := mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	root := cfg.Rootfs
	if err := mountSpecial(cfg); err != nil {
		return err
	}
	etc := []struct{ src, dst string }{{cfg.Hosts, "/etc/hosts"}, {cfg.ResolvConf, "/etc/resolv.conf"}, {cfg.HostnameF, "/etc/hostname"}}
	for _, e := range etc {
		if err := bindInto(root, e.src, e.dst, false, nil); err != nil {
			return err
		}
	}
	for _, m := range cfg.Mounts {
		if err := mountUser(root, m); err != nil {
			return err
		}
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at "/"; detaching it
	// leaves only the container's tree, and no path leads back to the host's root.
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &MountError{Op: "umount", Target: "old root", Flags: unix.MNT_DETACH, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	for k, v := range cfg.Sysctls {
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", k, v, err)
		}
	}
	if !cfg.Privileged {
		for _, p := range maskedPaths {
			if err := maskPath(p); err != nil {
				return err
			}
		}
		for _, p := range readonlyPaths {
			if err := readonlyPath(p); err != nil {
				return err
			}
		}
	}
	if cfg.ReadOnly {
		if err := mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("sethostname %q: %w", cfg.Hostname, err)
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", cfg.Domainname, err)
		}
	}
	for _, u := range cfg.Ulimits {
		lim := unix.Rlimit{Cur: uint64(u.Soft), Max: uint64(u.Hard)}
		if err := unix.Prlimit(0, rlimitByName[u.Name], &lim, nil); err != nil {
			return fmt.Errorf("set ulimit %s=%d:%d: %w", u.Name, u.Soft, u.Hard, err)
		}
	}
	return nil
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

// mountSpecial mounts /proc, a minimal /dev and /sys inside the rootfs.
func mountSpecial(cfg *initConfig) error {
	root := cfg.Rootfs
	const nosuidNodevNoexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	sysFlags := uintptr(nosuidNodevNoexec | unix.MS_RDONLY)
	if cfg.Privileged {
		sysFlags &^= unix.MS_RDONLY
	}
	type m struct {
		target, fstype string
		flags          uintptr
		data           string
	}
	for _, x := range []m{
		{"/proc", "proc", nosuidNodevNoexec, ""},
		{"/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{"/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"/dev/shm", "tmpfs", nosuidNodevNoexec, "mode=1777,size=65536k"},
		{"/dev/mqueue", "mqueue", nosuidNodevNoexec, ""},
		{"/sys", "sysfs", sysFlags, ""},
	} {
		p, err := inRoot(root, x.target, false)
		if err != nil {
			return err
		}
		if err := mount(x.fstype, p, x.fstype, x.flags, x.data); err != nil {
			return err
		}
	}
	dev := filepath.Join(root, "dev")
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := unix.Chmod(p, 0o666); err != nil { // the umask applied to mknod
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	for name, target := range map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "core": "/proc/kcore",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
	}
	if cfg.Tty {
		// /dev/console is the container's terminal, as in Docker.
		tty, err := os.Readlink("/proc/self/fd/0")
		if err != nil {
			return fmt.Errorf("find terminal: %w", err)
		}
		if err := bindInto(root, tty, "/dev/console", false, nil); err != nil {
			return err
		}
	}
	return nil
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

// maskPath hides a path: /dev/null over a file, an empty read-only tmpfs over a directory.
// Paths the kernel does not have are skipped.
func maskPath(p string) error {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if st.IsDir() {
		return mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0")
	}
	return mount("/dev/null", p, "", unix.MS_BIND, "")
}

// readonlyPath makes a path read-only: a bind of itself, remounted read-only.
func readonlyPath(p string) error {
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return mount("", p, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// lookPath finds a command in the container's $PATH (from env, else Docker's default), as
// execve will see it. "Not found" and "not executable" are told apart for 127 and 126.
func lookPath(file string, env []string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
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

// mkdirAs creates the working directory if missing (as Docker does), owned by the user.
func mkdirAs(dir string, u execUser) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create working directory %s: %w", dir, err)
	}
	if err := os.Chown(dir, u.UID, u.GID); err != nil {
		return fmt.Errorf("create working directory %s: %w", dir, err)
	}
	return nil
}

// dropPrivileges is step 7 of runInit, on the calling (main) thread; filter is the
// container's seccomp filter, nil for none.
func dropPrivileges(cfg *initConfig, u execUser, filter []unix.SockFilter) error {
	if cfg.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
	}
	if filter != nil {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if cfg.Caps&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_CAP_AMBIENT_CLEAR_ALL): %w", err)
	}
	// Raw per-thread syscalls: this thread is the one that execs.
	gids := make([]uint32, len(u.Groups))
	for i, g := range u.Groups {
		gids[i] = uint32(g)
	}
	if err := setgroups(gids); err != nil {
		return fmt.Errorf("setgroups %v: %w", u.Groups, err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.UID, e)
	}
	if u.UID != 0 {
		return nil // the kernel cleared the permitted and effective sets on leaving uid 0
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Effective, data[0].Permitted = uint32(cfg.Caps), uint32(cfg.Caps)
	data[1].Effective, data[1].Permitted = uint32(cfg.Caps>>32), uint32(cfg.Caps>>32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset %#x: %w", uint64(cfg.Caps), err)
	}
	return nil
}

func setgroups(gids []uint32) error {
	var p uintptr
	if len(gids) > 0 {
		p = uintptr(unsafe.Pointer(&gids[0]))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), p, 0); e != 0 {
		return e
	}
	return nil
}

// reap is --init: the program runs as a child of init, which stays PID 1, forwards the
// signals it gets to the child, reaps every orphan the kernel hands it, and exits with the
// child's status. It is not dumpable, so no process in the container can open
// /proc/1/exe (the host's stack binary, CVE-2019-5736) or ptrace it.
func reap(path string, args, env []string, errPipe *os.File, fail func(int, string, error)) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(125, "", fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err))
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		fail(126, "permission", fmt.Errorf("exec %s: %w", path, err))
	}
	errPipe.Close()
	exited := make(chan int, 1)
	go func() {
		for {
			var ws syscall.WaitStatus
			p, err := syscall.Wait4(-1, &ws, 0, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				exited <- 255
				return
			}
			if p == pid {
				exited <- exitStatus(ws)
			}
		}
	}()
	for {
		select {
		case s := <-sigs:
			if s == unix.SIGCHLD {
				continue
			}
			_ = unix.Kill(pid, s.(syscall.Signal))
		case code := <-exited:
			os.Exit(code)
		}
	}
}

// exitStatus is the shell's convention: the exit code, or 128+signal.
func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
