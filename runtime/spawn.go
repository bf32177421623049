package runtime

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The container's first process is not a second Go program: the monitor forks itself and
// the child runs a short, precomputed list of system calls (a childProgram) up to execve.
//
// Why: starting the Go binary again for an init role cost ~8 ms of process start-up per
// container (page faults, runtime and package initialisation) — a quarter of `run --rm`.
// Everything that needs Go (path resolution inside the image, user lookup, error messages,
// the mounts that do not depend on the PID namespace) runs before the fork on the monitor's
// locked thread (see prepareStart); what must happen inside the new PID namespace — mounting
// its /proc, masking it, pivot_root — and the credential changes happen here.
//
// The child is a copy of the monitor in which only the forking thread exists. Until execve
// it must not allocate, take locks, grow its stack or run the scheduler: it calls only raw
// system calls (nosplit) on data the parent prepared, as the syscall package does between
// fork and exec. The runtime hooks it uses are the ones the syscall package uses for that
// (runtime_BeforeFork and friends, kept linkable for this purpose by the Go runtime).

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// sysOp is one step of a childProgram: a system call with its arguments, or a pseudo-call.
type sysOp struct {
	trap   uintptr
	args   [6]uintptr
	ignore syscall.Errno // an errno that means "nothing to do" (e.g. ENOENT for a path the kernel lacks)
}

// Pseudo-calls, numbered above every real system call.
const (
	// opExec is execve(args[0], args[1], args[2]); a failure is the program's fault (126/127).
	opExec = ^uintptr(0) - iota
	// opReap forks: the child goes on with the next steps, this process stays behind as the
	// container's PID 1 (--init), reaping orphans, forwarding signals to the child and
	// exiting with the child's status. Signals must be blocked by an earlier step.
	opReap
)

// childProgram is what the container's first process does between fork and execve.
type childProgram struct {
	ops   []sysOp
	what  []string   // per op, what it does, for the error message
	keep  []any      // the memory the ops point into, alive as long as the program
	clone *cloneArgs // clone3's arguments, on the heap: the child's stack must not hold them
	errFd int        // the child's end of the error pipe (close-on-exec)
}

// childFailure is what a failing child writes to the error pipe.
type childFailure struct {
	Step  int32
	Errno int32
}

func (p *childProgram) add(what string, ignore syscall.Errno, trap uintptr, args ...uintptr) {
	if p.ops == nil { // a program has about a hundred steps: one allocation, not eight
		p.ops, p.what = make([]sysOp, 0, 128), make([]string, 0, 128)
	}
	op := sysOp{trap: trap, ignore: ignore}
	copy(op.args[:], args)
	p.ops = append(p.ops, op)
	p.what = append(p.what, what)
}

// cstr returns a NUL-terminated copy of s that lives as long as p.
func (p *childProgram) cstr(s string) *byte {
	b := append([]byte(s), 0)
	p.keep = append(p.keep, b)
	return &b[0]
}

// str is the address of cstr(s), as a system call argument.
func (p *childProgram) str(s string) uintptr { return uintptr(unsafe.Pointer(p.cstr(s))) }

// ptr returns the address of a copy of *v that lives as long as p (a kernel struct).
func ptr[T any](p *childProgram, v T) uintptr {
	c := &v
	p.keep = append(p.keep, c)
	return uintptr(unsafe.Pointer(c))
}

// strv returns a NULL-terminated array of NUL-terminated strings (argv, envp).
func (p *childProgram) strv(ss []string) uintptr {
	v := make([]*byte, len(ss)+1)
	for i, s := range ss {
		v[i] = p.cstr(s)
	}
	p.keep = append(p.keep, v)
	return uintptr(unsafe.Pointer(&v[0]))
}

// bytesOf views a value's memory as bytes.
func bytesOf[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// failure turns what the child reported into the error the user sees.
func (p *childProgram) failure(f childFailure) *initError {
	step := int(f.Step)
	errno := syscall.Errno(f.Errno)
	if step < 0 || step >= len(p.ops) {
		return &initError{Code: 125, Msg: fmt.Sprintf("container init failed: %v", errno)}
	}
	msg := fmt.Sprintf("%s: %v", p.what[step], errno)
	if p.ops[step].trap == opExec {
		if errno == unix.EACCES || errno == unix.ENOEXEC {
			return &initError{Code: 126, Kind: "permission", Msg: fmt.Sprintf("%s: %v", p.what[step], ErrExecPermission)}
		}
		return &initError{Code: 127, Kind: "notfound", Msg: msg}
	}
	return &initError{Code: 125, Msg: msg}
}

// cloneArgs is struct clone_args (linux/sched.h), for clone3.
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls, setTID, setTIDSize, cgroup uint64
}

// fork starts the program in a new process with the given clone flags (on cgroup v2 into
// the cgroup directory cgroupFd when it is ≥ 0) and returns its PID. The calling goroutine
// must be locked to its thread: the child inherits that thread's namespaces and cgroups, and
// its parent-death signal fires when that thread exits.
func (p *childProgram) fork(flags uintptr, cgroupFd int) (int, error) {
	trap, a1, a2 := uintptr(unix.SYS_CLONE), flags|uintptr(unix.SIGCHLD), uintptr(0)
	if cgroupFd >= 0 {
		p.clone = &cloneArgs{flags: uint64(flags) | unix.CLONE_INTO_CGROUP, exitSignal: uint64(unix.SIGCHLD), cgroup: uint64(cgroupFd)}
		trap, a1, a2 = unix.SYS_CLONE3, uintptr(unsafe.Pointer(p.clone)), unsafe.Sizeof(*p.clone)
	}
	pid, errno := forkAndRun(trap, a1, a2, p.ops, p.errFd)
	if errno != 0 {
		return 0, fmt.Errorf("clone: %w", errno)
	}
	return int(pid), nil
}

// forkAndRun forks and, in the child, runs ops; the parent returns the child's PID. In the
// child nothing may allocate or grow the stack: only raw system calls on prepared memory.
//
//go:norace
//go:nocheckptr
//go:noinline
func forkAndRun(trap, a1, a2 uintptr, ops []sysOp, errFd int) (uintptr, syscall.Errno) {
	var (
		i, r1, child uintptr
		status       int32
		errno        syscall.Errno
		fail         childFailure
		all          = ^uint64(0)
	)
	runtimeBeforeFork()
	pid, _, errno := syscall.RawSyscall6(trap, a1, a2, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		runtimeAfterFork()
		return pid, errno
	}
	runtimeAfterForkInChild()
	for i = 0; i < uintptr(len(ops)); i++ {
		switch ops[i].trap {
		case opReap:
			child, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
			if errno != 0 {
				goto failed
			}
			if child == 0 {
				continue // the program's process: on with the next steps
			}
			syscall.RawSyscall(unix.SYS_CLOSE, uintptr(errFd), 0, 0)
			for {
				r1, _, errno = syscall.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&all)), 0, 0, 8, 0, 0)
				if errno != 0 {
					continue
				}
				if r1 != uintptr(unix.SIGCHLD) {
					syscall.RawSyscall(unix.SYS_KILL, child, r1, 0)
					continue
				}
				for {
					r1, _, errno = syscall.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&status)), unix.WNOHANG, 0, 0, 0)
					if errno != 0 || r1 == 0 {
						break
					}
					if r1 == child {
						if status&0x7f == 0 { // exited: the code is in bits 8-15
							syscall.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(status>>8)&0xff, 0, 0)
						}
						syscall.RawSyscall(unix.SYS_EXIT_GROUP, 128+uintptr(status&0x7f), 0, 0)
					}
				}
			}
		case opExec:
			_, _, errno = syscall.RawSyscall6(unix.SYS_EXECVE, ops[i].args[0], ops[i].args[1], ops[i].args[2], 0, 0, 0)
		default:
			_, _, errno = syscall.RawSyscall6(ops[i].trap, ops[i].args[0], ops[i].args[1], ops[i].args[2], ops[i].args[3], ops[i].args[4], ops[i].args[5])
			if errno == 0 || errno == ops[i].ignore {
				continue
			}
		}
		goto failed
	}
failed:
	fail.Step, fail.Errno = int32(i), int32(errno)
	syscall.RawSyscall(unix.SYS_WRITE, uintptr(errFd), uintptr(unsafe.Pointer(&fail)), unsafe.Sizeof(fail))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 125, 0, 0)
	}
}
