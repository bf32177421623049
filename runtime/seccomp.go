package runtime

//go:generate go run gen_syscalls.go

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// syscallEntry is one row of the generated syscallTable (syscalls_<arch>.go).
type syscallEntry struct {
	name string
	nr   uint32
}

// syscallNumber looks a syscall up by name in this architecture's table.
func syscallNumber(name string) (uint32, bool) {
	i := sort.Search(len(syscallTable), func(i int) bool { return syscallTable[i].name >= name })
	if i < len(syscallTable) && syscallTable[i].name == name {
		return syscallTable[i].nr, true
	}
	return 0, false
}

// auditArch is the AUDIT_ARCH_* value the kernel reports for native syscalls.
var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}[goruntime.GOARCH]

// Offsets in struct seccomp_data: the syscall number, the architecture, and the arguments
// (64 bits each; both supported architectures are little-endian, so the low half is first).
const (
	seccompNrOff   = 0
	seccompArchOff = 4
	seccompArgsOff = 16
	x32SyscallBit  = 0x40000000
)

// The values of --security-opt seccomp= that are not a profile, as Docker spells them.
const (
	seccompUnconfined = "unconfined" // no filter
	seccompBuiltin    = "builtin"    // moby's default profile, as without the option
)

// seccompProgram is the seccomp filter of the container's processes: nil when it is
// privileged or runs with seccomp=unconfined; else its profile (the one given with
// --security-opt seccomp=<profile>, or moby's default) compiled for its capabilities. The
// start path and exec both get the filter here, so a container's first process and
// everything exec'd into it are always confined alike.
func (c *Container) seccompProgram() ([]unix.SockFilter, error) {
	if c.Spec.Privileged {
		return nil, nil
	}
	sec, err := securityOpts(c.Spec.SecurityOpt)
	if err != nil || sec.seccomp == seccompUnconfined {
		return nil, err
	}
	caps, err := capabilitySet(c.Spec.CapAdd, c.Spec.CapDrop, false)
	if err != nil {
		return nil, err
	}
	return seccompFilter(sec.seccomp, caps)
}

// seccompFilter compiles a seccomp profile for a container with capabilities caps into a
// classic BPF program for SECCOMP_SET_MODE_FILTER. profile is a profile in Docker's JSON
// format, or "" for moby's default profile. Both go the same way: moby/profiles resolves
// the profile's conditions (includes/excludes on capabilities, architectures and kernel
// version; the default allows e.g. mount only with CAP_SYS_ADMIN) into the OCI runtime
// spec's rules, and compileSeccomp turns those into the program.
func seccompFilter(profile string, caps capMask) ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("seccomp: no syscall table for %s (use seccomp=unconfined)", goruntime.GOARCH)
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps.names()}}}
	var prof *specs.LinuxSeccomp
	var err error
	if profile == "" {
		if prof, err = seccomp.GetDefaultProfile(rs); err != nil {
			return nil, fmt.Errorf("build seccomp profile: %w", err)
		}
	} else {
		if err := checkSeccompProfile([]byte(profile)); err != nil {
			return nil, fmt.Errorf("seccomp profile: %w", err)
		}
		if prof, err = seccomp.LoadProfile(profile, rs); err != nil {
			return nil, fmt.Errorf("seccomp profile: %w", err)
		}
	}
	return compileSeccomp(prof)
}

// ReadSeccompProfiles returns opts (--security-opt values) with each seccomp=FILE, or
// seccomp:FILE as compose writes it, replaced by seccomp=<the file's profile, compacted>,
// which is how Docker's CLI hands a profile to the daemon. The container keeps the profile
// itself (inspect shows it; every start and exec compiles it), so moving or editing the
// file later changes nothing. A relative FILE is relative to the working directory. The
// profile is checked here, where the file's name is known, so a bad file is reported with
// its name and the place of the problem before anything is created.
func ReadSeccompProfiles(opts []string) ([]string, error) {
	out := slices.Clone(opts)
	for i, o := range opts {
		k, v, _ := splitSecurityOpt(o)
		if k != "seccomp" || v == "" || v == seccompUnconfined || v == seccompBuiltin || strings.HasPrefix(v, "{") {
			continue // not a file: one of Docker's names, or a profile already
		}
		data, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("%w: read seccomp profile: %w", ErrInvalidSpec, err)
		}
		if err := checkSeccompProfile(data); err != nil {
			return nil, fmt.Errorf("%w: seccomp profile %s: %w", ErrInvalidSpec, v, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return nil, fmt.Errorf("%w: seccomp profile %s: %w", ErrInvalidSpec, v, err)
		}
		out[i] = "seccomp=" + b.String()
	}
	return out, nil
}

// checkSeccompProfile checks a profile in Docker's JSON format beyond what moby/profiles
// does when it loads one, so that a mistake is an error rather than a silently different
// filter: the JSON is decoded strictly (an unknown or misspelt key, e.g. "syscall", is an
// error, not a profile that lists nothing), and every rule is checked, whether or not its
// conditions select it on this host. Syscall names the table does not know are not errors:
// they are skipped when compiling, as libseccomp does, because profiles list syscalls of
// every architecture and kernel.
func checkSeccompProfile(data []byte) error {
	var p seccomp.Seccomp
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return jsonErrorAt(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: more data after the profile", jsonOffset(data, dec.InputOffset()))
	}
	if p.DefaultAction == "" {
		return errors.New("no defaultAction (to run without a filter, use seccomp=unconfined)")
	}
	if _, err := seccompAction(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return errors.New("both architectures and archMap are given: use one")
	}
	arches := slices.Clone(p.Architectures)
	for _, m := range p.ArchMap {
		arches = append(append(arches, m.Arch), m.SubArches...)
	}
	for _, a := range arches {
		if !seccompArches[a] {
			return fmt.Errorf("architecture %q: unknown (want SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)", a)
		}
	}
	if len(p.Flags) > 0 {
		return fmt.Errorf("flags %v: not supported (filters are installed without flags)", p.Flags)
	}
	if p.ListenerPath != "" || p.ListenerMetadata != "" {
		return errors.New("listenerPath: seccomp agents (SCMP_ACT_NOTIFY) are not supported")
	}
	for i, r := range p.Syscalls {
		where := fmt.Sprintf("syscalls[%d]", i)
		if r == nil {
			return fmt.Errorf("%s: null", where)
		}
		names := r.Names
		switch {
		case r.Name != "" && len(r.Names) > 0:
			return fmt.Errorf("%s: both name and names are given: use names", where)
		case r.Name != "":
			names = []string{r.Name}
		case len(r.Names) == 0:
			return fmt.Errorf("%s: no names", where)
		}
		where += " (" + strings.Join(names, ", ") + ")"
		if slices.Contains(names, "") {
			return fmt.Errorf("%s: an empty syscall name", where)
		}
		if _, err := seccompAction(r.Action, r.ErrnoRet); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, a := range r.Args {
			if err := checkSeccompArg(a); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		for _, f := range []*seccomp.Filter{r.Includes, r.Excludes} {
			if f == nil {
				continue
			}
			for _, a := range f.Arches {
				if !seccompFilterArches[a] {
					return fmt.Errorf("%s: architecture %q in includes/excludes: unknown (want amd64, arm64, x86, ...: Go's names, which moby matches)", where, a)
				}
			}
			for _, c := range f.Caps {
				if _, ok := capNames[strings.TrimPrefix(c, "CAP_")]; !ok || !strings.HasPrefix(c, "CAP_") {
					return fmt.Errorf("%s: capability %q in includes/excludes: unknown (want e.g. CAP_SYS_ADMIN)", where, c)
				}
			}
		}
	}
	return nil
}

// seccompArches are libseccomp's architectures, which a profile's architectures and archMap
// name. The program is compiled for the native one only (see compileSeccomp); the others
// are checked so that a misspelt name is an error.
var seccompArches = map[specs.Arch]bool{
	specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true, specs.ArchARM: true,
	specs.ArchAARCH64: true, specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true,
	specs.ArchMIPSEL: true, specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true, specs.ArchPPC: true,
	specs.ArchPPC64: true, specs.ArchPPC64LE: true, specs.ArchS390: true, specs.ArchS390X: true,
	specs.ArchPARISC: true, specs.ArchPARISC64: true, specs.ArchRISCV64: true,
	specs.ArchLOONGARCH64: true, specs.ArchM68K: true, specs.ArchSH: true, specs.ArchSHEB: true,
}

// seccompFilterArches are the architecture names of includes/excludes conditions: those
// moby/profiles matches against (its names for GOARCH), and x32, which its own default
// profile uses.
var seccompFilterArches = map[string]bool{
	"x86": true, "amd64": true, "x32": true, "arm": true, "arm64": true, "loongarch64": true,
	"mips64": true, "mips64n32": true, "mipsel64": true, "mips3l64n32": true, "mipsel": true,
	"ppc": true, "ppc64": true, "ppc64le": true, "riscv64": true, "s390": true, "s390x": true,
}

// jsonErrorAt puts the line and column of a JSON decoding error in front of it, when the
// error knows its offset: that of the offending character, or of the end of a value of
// the wrong type (the decoder counts the bytes read, up to and including those).
func jsonErrorAt(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s: %w", jsonOffset(data, se.Offset-1), err)
	case errors.As(err, &te):
		return fmt.Errorf("%s: %w", jsonOffset(data, te.Offset-1), err)
	}
	return err
}

// jsonOffset turns a byte offset into data into "line L, column C" (both from 1).
func jsonOffset(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// compileSeccomp compiles the rules of a profile into a classic BPF program. Syscall
// numbers come from a generated static table (gen_syscalls.go), so no process pays for
// building one at start-up. The program:
//
//	load arch;  not native (or x32 on amd64) → the bad-ABI action (below)
//	load nr;    for each rule in profile order:
//	              unconditional: if nr == N → return the rule's action
//	              with arguments: if nr == N → test each argument (64-bit, as two 32-bit
//	              halves); all true → return the action; else reload nr and go on
//	return the default action
//
// Rules are tested in order and the first match wins. Rules whose action is the default
// action are left out, as runc does (libseccomp refuses them), so such a rule never hides
// a later rule for the same syscall. A rule that tests one argument twice becomes one rule
// per test (any of them matches), as runc does, because libseccomp cannot combine them.
// Syscalls the table does not know (newer than x/sys, or of another architecture) are
// skipped, as libseccomp does.
//
// Only native syscalls are compiled: another ABI (32-bit x86 through int 0x80, or x32 on
// amd64) numbers syscalls differently, so its calls get the default action when that
// refuses, and kill the process when it allows (ALLOW or LOG). Otherwise a profile that
// lists what to refuse, e.g. mkdir, would let a 32-bit mkdir through.
func compileSeccomp(prof *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	def, err := seccompAction(prof.DefaultAction, prof.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	badABI := def
	if def == unix.SECCOMP_RET_ALLOW || def == unix.SECCOMP_RET_LOG {
		badABI = unix.SECCOMP_RET_KILL_PROCESS
	}
	var p bpfProgram
	p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArchOff)
	p.jump(unix.BPF_JEQ, auditArch, p.label(2), labelNext) // native: skip the ret
	p.ret(badABI)
	p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNrOff)
	if goruntime.GOARCH == "amd64" {
		p.jump(unix.BPF_JGE, x32SyscallBit, labelNext, p.label(2)) // x32 ABI: the ret
		p.ret(badABI)
	}
	for _, rule := range prof.Syscalls {
		act, err := seccompAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, err
		}
		if act == def {
			continue
		}
		tests := [][]specs.LinuxSeccompArg{rule.Args}
		if repeatsArgument(rule.Args) {
			tests = tests[:0]
			for _, a := range rule.Args {
				tests = append(tests, []specs.LinuxSeccompArg{a})
			}
		}
		for _, name := range rule.Names {
			nr, ok := syscallNumber(name)
			if !ok {
				continue
			}
			for _, args := range tests {
				if len(args) == 0 {
					p.jump(unix.BPF_JEQ, nr, labelNext, p.label(2)) // match: the ret below
					p.ret(act)
					continue
				}
				fail := p.newLabel()
				p.jump(unix.BPF_JEQ, nr, labelNext, fail)
				for _, a := range args {
					if err := p.compare(a, fail); err != nil {
						return nil, fmt.Errorf("seccomp rule for %s: %w", name, err)
					}
				}
				p.ret(act)
				p.place(fail)
				p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNrOff) // A was clobbered
			}
		}
	}
	p.ret(def)
	return p.assemble()
}

// repeatsArgument reports whether two of args test the same argument.
func repeatsArgument(args []specs.LinuxSeccompArg) bool {
	var seen [6]bool
	for _, a := range args {
		if a.Index < uint(len(seen)) {
			if seen[a.Index] {
				return true
			}
			seen[a.Index] = true
		}
	}
	return false
}

// checkSeccompArg checks an argument test: a syscall has six arguments, and libseccomp's
// seven comparisons are the ones there are.
func checkSeccompArg(a specs.LinuxSeccompArg) error {
	if a.Index > 5 {
		return fmt.Errorf("argument index %d: out of range (0 to 5)", a.Index)
	}
	switch a.Op {
	case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
		return nil
	}
	return fmt.Errorf("comparison %q: unknown (want SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE or SCMP_CMP_MASKED_EQ)", a.Op)
}

// compare emits the test of one argument, as an unsigned 64-bit comparison made of its two
// 32-bit halves (high half first: it decides unless equal); a false test jumps to fail, a
// true one falls through.
func (p *bpfProgram) compare(a specs.LinuxSeccompArg, fail int) error {
	if err := checkSeccompArg(a); err != nil {
		return err
	}
	lo, hi := uint32(seccompArgsOff+8*a.Index), uint32(seccompArgsOff+8*a.Index+4)
	load := func(off uint32) { p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
	vhi, vlo := uint32(a.Value>>32), uint32(a.Value)
	pass := p.newLabel()
	switch a.Op {
	case specs.OpEqualTo:
		load(hi)
		p.jump(unix.BPF_JEQ, vhi, labelNext, fail)
		load(lo)
		p.jump(unix.BPF_JEQ, vlo, labelNext, fail)
	case specs.OpNotEqual:
		load(hi)
		p.jump(unix.BPF_JEQ, vhi, labelNext, pass)
		load(lo)
		p.jump(unix.BPF_JEQ, vlo, fail, labelNext)
	case specs.OpMaskedEqual: // (arg & Value) == ValueTwo
		load(hi)
		p.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, vhi)
		p.jump(unix.BPF_JEQ, uint32(a.ValueTwo>>32), labelNext, fail)
		load(lo)
		p.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, vlo)
		p.jump(unix.BPF_JEQ, uint32(a.ValueTwo), labelNext, fail)
	case specs.OpLessThan, specs.OpLessEqual: // hi < vhi, or hi == vhi and lo < (≤) vlo
		load(hi)
		p.jump(unix.BPF_JGT, vhi, fail, labelNext)
		p.jump(unix.BPF_JEQ, vhi, labelNext, pass)
		load(lo)
		if a.Op == specs.OpLessThan {
			p.jump(unix.BPF_JGE, vlo, fail, labelNext)
		} else {
			p.jump(unix.BPF_JGT, vlo, fail, labelNext)
		}
	case specs.OpGreaterThan, specs.OpGreaterEqual: // hi > vhi, or hi == vhi and lo > (≥) vlo
		load(hi)
		p.jump(unix.BPF_JGT, vhi, pass, labelNext)
		p.jump(unix.BPF_JEQ, vhi, labelNext, fail)
		load(lo)
		if a.Op == specs.OpGreaterThan {
			p.jump(unix.BPF_JGT, vlo, labelNext, fail)
		} else {
			p.jump(unix.BPF_JGE, vlo, labelNext, fail)
		}
	}
	p.place(pass)
	return nil
}

// seccompAction is the SECCOMP_RET_* value of a profile's action. errnoRet is the errno
// SCMP_ACT_ERRNO returns (default EPERM), or the value SCMP_ACT_TRACE hands the tracer;
// with another action it is an error rather than ignored.
func seccompAction(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	var ret uint32
	switch a {
	case specs.ActAllow:
		ret = unix.SECCOMP_RET_ALLOW
	case specs.ActErrno:
		ret = unix.SECCOMP_RET_ERRNO
	case specs.ActTrace:
		ret = unix.SECCOMP_RET_TRACE
	case specs.ActKillProcess:
		ret = unix.SECCOMP_RET_KILL_PROCESS
	case specs.ActKill, specs.ActKillThread:
		ret = unix.SECCOMP_RET_KILL_THREAD
	case specs.ActTrap:
		ret = unix.SECCOMP_RET_TRAP
	case specs.ActLog:
		ret = unix.SECCOMP_RET_LOG
	case specs.ActNotify:
		return 0, fmt.Errorf("action %s: not supported (it needs a seccomp agent)", a)
	default:
		return 0, fmt.Errorf("action %q: unknown (want SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG)", a)
	}
	if ret != unix.SECCOMP_RET_ERRNO && ret != unix.SECCOMP_RET_TRACE {
		if errnoRet != nil {
			return 0, fmt.Errorf("errnoRet %d with %s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one", *errnoRet, a)
		}
		return ret, nil
	}
	data := uint(syscall.EPERM)
	if errnoRet != nil {
		data = *errnoRet
	}
	if data > unix.SECCOMP_RET_DATA {
		return 0, fmt.Errorf("errnoRet %d: out of range (at most %d)", data, unix.SECCOMP_RET_DATA)
	}
	return ret | uint32(data), nil
}

// labelNext, as a jump target, is the next instruction; other labels come from newLabel
// (placed with place) or label.
const labelNext = -1

// bpfProgram is a tiny two-pass assembler for classic BPF: jumps name labels, resolved to
// the 8-bit forward offsets BPF wants once every label's position is known.
type bpfProgram struct {
	insts  []unix.SockFilter
	jt, jf []int       // label per instruction (jumps only)
	labels map[int]int // label → instruction index
	next   int
}

func (p *bpfProgram) stmt(code uint16, k uint32) {
	p.insts = append(p.insts, unix.SockFilter{Code: code, K: k})
	p.jt, p.jf = append(p.jt, labelNext), append(p.jf, labelNext)
}

func (p *bpfProgram) jump(op uint16, k uint32, jt, jf int) {
	p.insts = append(p.insts, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
	p.jt, p.jf = append(p.jt, jt), append(p.jf, jf)
}

func (p *bpfProgram) ret(k uint32) { p.stmt(unix.BPF_RET|unix.BPF_K, k) }

func (p *bpfProgram) newLabel() int {
	p.next++
	return p.next
}

// label returns a label n instructions past the one emitted next: label(2) on a jump
// skips the single instruction after it (the "if nr == N return X" form).
func (p *bpfProgram) label(n int) int {
	l := p.newLabel()
	if p.labels == nil {
		p.labels = map[int]int{}
	}
	p.labels[l] = len(p.insts) + n
	return l
}

func (p *bpfProgram) place(l int) {
	if p.labels == nil {
		p.labels = map[int]int{}
	}
	p.labels[l] = len(p.insts)
}

func (p *bpfProgram) assemble() ([]unix.SockFilter, error) {
	if len(p.insts) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: %d instructions exceed the kernel's %d", len(p.insts), unix.BPF_MAXINSNS)
	}
	for i := range p.insts {
		for _, f := range []struct {
			label int
			dst   *uint8
		}{{p.jt[i], &p.insts[i].Jt}, {p.jf[i], &p.insts[i].Jf}} {
			if f.label == labelNext {
				continue
			}
			at, ok := p.labels[f.label]
			if !ok {
				return nil, fmt.Errorf("seccomp: unplaced label %d", f.label)
			}
			off := at - i - 1
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: jump of %d instructions at %d", off, i)
			}
			*f.dst = uint8(off)
		}
	}
	return p.insts, nil
}

// loadSeccomp installs the filter on the calling thread (no TSYNC: init runs on its locked
// main thread and execs from it, so the program inherits exactly this thread's filter).
// Without no_new_privs this needs CAP_SYS_ADMIN, so it runs before capabilities are dropped.
func loadSeccomp(filter []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, %d instructions): %w", len(filter), errno)
	}
	return nil
}

// filterBytes is a seccomp program as the kernel reads it (struct sock_filter, 8 bytes each),
// the compact form the monitor receives it in; filterFromBytes reads it back.
func filterBytes(f []unix.SockFilter) []byte {
	if len(f) == 0 {
		return nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*int(unsafe.Sizeof(f[0])))...)
}

func filterFromBytes(b []byte) []unix.SockFilter {
	n := len(b) / int(unsafe.Sizeof(unix.SockFilter{}))
	if n == 0 {
		return nil
	}
	f := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(b)), b)
	return f
}
