package runtime

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/profiles/seccomp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

// denyMkdir is a deny-list profile: everything is allowed but mkdir, which fails with EPERM.
const denyMkdir = `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
	]
}`

// newSeccompVM loads a compiled filter into x/net/bpf's VM.
func newSeccompVM(t *testing.T, filter []unix.SockFilter) *bpf.VM {
	t.Helper()
	if auditArch == 0 {
		t.Skip("no syscall table for this architecture")
	}
	raw := make([]bpf.RawInstruction, len(filter))
	for i, f := range filter {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// runSeccomp runs the filter over a synthetic seccomp_data (the VM loads 32-bit words
// big-endian, so each word is stored that way) and returns the action.
func runSeccomp(t *testing.T, vm *bpf.VM, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], nr)
	binary.BigEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[20+8*i:], uint32(a>>32))
	}
	v, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

// seccompVM returns a function that runs the filter for a syscall given by name.
func seccompVM(t *testing.T, filter []unix.SockFilter) func(arch uint32, name string, args ...uint64) uint32 {
	t.Helper()
	vm := newSeccompVM(t, filter)
	return func(arch uint32, name string, args ...uint64) uint32 {
		t.Helper()
		nr, ok := syscallNumber(name)
		if !ok {
			t.Fatalf("no syscall %s", name)
		}
		return runSeccomp(t, vm, arch, nr, args...)
	}
}

// compileProfile compiles a profile for Docker's default capabilities.
func compileProfile(t *testing.T, profile string) func(arch uint32, name string, args ...uint64) uint32 {
	t.Helper()
	caps, _ := capabilitySet(nil, nil, false)
	f, err := seccompFilter(profile, caps)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return seccompVM(t, f)
}

func TestSeccompFilterCompiles(t *testing.T) {
	caps, _ := capabilitySet(nil, nil, false)
	f, err := seccompFilter("", caps)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) < 100 {
		t.Errorf("%d instructions: the default profile allows hundreds of syscalls", len(f))
	}
	admin, _ := capabilitySet([]string{"SYS_ADMIN"}, nil, false)
	g, err := seccompFilter("", admin)
	if err != nil || len(g) == len(f) {
		t.Errorf("CAP_SYS_ADMIN should widen the profile: %d vs %d instructions, %v", len(g), len(f), err)
	}
}

func TestSeccompFilterSemantics(t *testing.T) {
	run := compileProfile(t, "")
	cases := []struct {
		name string
		args []uint64
		want uint32
	}{
		{"read", nil, retAllow},
		{"execve", nil, retAllow},
		{"mkdir", nil, retAllow},
		{"mount", nil, retEPERM},
		{"unshare", nil, retEPERM},
		{"kexec_load", nil, retEPERM},
		{"clone", []uint64{uint64(unix.SIGCHLD)}, retAllow},
		{"clone", []uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, retEPERM},
		{"clone", []uint64{1 << 33}, retAllow}, // high bits do not matter to the mask
		{"clone3", nil, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"personality", []uint64{0}, retAllow},
		{"personality", []uint64{0x1234}, retEPERM},
		{"socket", []uint64{unix.AF_INET}, retAllow},
		{"socket", []uint64{unix.AF_INET | 1<<32}, retEPERM}, // a 64-bit compare
	}
	for _, c := range cases {
		if got := run(auditArch, c.name, c.args...); got != c.want {
			t.Errorf("%s%v = %#x, want %#x", c.name, c.args, got, c.want)
		}
	}
	if got := run(auditArch^1, "read"); got != retEPERM {
		t.Errorf("foreign architecture: %#x, want the default action", got)
	}
}

// TestSeccompDefaultProfileAsJSON: moby's default profile written as a JSON profile passes
// the checks and compiles to exactly the built-in default's program, so a custom profile
// takes the same path as the default.
func TestSeccompDefaultProfileAsJSON(t *testing.T) {
	data, err := json.Marshal(seccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	caps, _ := capabilitySet(nil, nil, false)
	custom, err := seccompFilter(string(data), caps)
	if err != nil {
		t.Fatalf("the default profile as JSON: %v", err)
	}
	builtin, _ := seccompFilter("", caps)
	if !slices.Equal(custom, builtin) {
		t.Errorf("the default profile as JSON compiles to %d instructions, the built-in one to %d", len(custom), len(builtin))
	}
}

func TestSeccompCustomProfile(t *testing.T) {
	run := compileProfile(t, denyMkdir)
	for name, want := range map[string]uint32{"mkdir": retEPERM, "mkdirat": retEPERM, "read": retAllow, "mount": retAllow} {
		if got := run(auditArch, name); got != want {
			t.Errorf("%s = %#x, want %#x", name, got, want)
		}
	}
	// A deny-list cannot be bypassed through another ABI: those calls kill the process.
	if got := run(auditArch^1, "mkdir"); got != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("foreign architecture under an allow-by-default profile: %#x, want KILL_PROCESS", got)
	}
	if goruntime.GOARCH == "amd64" {
		f, _ := seccompFilter(denyMkdir, 0)
		nr, _ := syscallNumber("mkdir")
		if got := runSeccomp(t, newSeccompVM(t, f), auditArch, nr|x32SyscallBit); got != unix.SECCOMP_RET_KILL_PROCESS {
			t.Errorf("x32 mkdir under an allow-by-default profile: %#x, want KILL_PROCESS", got)
		}
	}
	// The errno and the action are the profile's.
	run = compileProfile(t, `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
		{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
		{"name": "getpid", "action": "SCMP_ACT_KILL_PROCESS"},
		{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}`)
	for name, want := range map[string]uint32{
		"read": retAllow, "getpid": unix.SECCOMP_RET_KILL_PROCESS,
		"chmod": unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES), "write": unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS),
	} {
		if got := run(auditArch, name); got != want {
			t.Errorf("%s = %#x, want %#x", name, got, want)
		}
	}
}

// TestSeccompProfileRules: rules under the default action are left out (so a later rule for
// the same syscall applies, as with runc), and two tests of one argument are alternatives.
func TestSeccompProfileRules(t *testing.T) {
	run := compileProfile(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
		{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
		{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
			{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
		{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
			{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`)
	cases := []struct {
		name string
		args []uint64
		want uint32
	}{
		{"mkdir", nil, retAllow},
		{"personality", []uint64{1}, retAllow},
		{"personality", []uint64{8}, retAllow},
		{"personality", []uint64{2}, retEPERM},
		{"socket", []uint64{2, 1}, retAllow},
		{"socket", []uint64{2, 2}, retEPERM}, // different indexes: both must hold
		{"socket", []uint64{10, 1}, retEPERM},
	}
	for _, c := range cases {
		if got := run(auditArch, c.name, c.args...); got != c.want {
			t.Errorf("%s%v = %#x, want %#x", c.name, c.args, got, c.want)
		}
	}
}

// TestSeccompComparisons checks every comparison, as unsigned 64-bit numbers, around a
// value whose halves both matter.
func TestSeccompComparisons(t *testing.T) {
	const v = 0x1_0000_0005
	ops := map[string]func(x uint64) bool{
		"SCMP_CMP_EQ":        func(x uint64) bool { return x == v },
		"SCMP_CMP_NE":        func(x uint64) bool { return x != v },
		"SCMP_CMP_LT":        func(x uint64) bool { return x < v },
		"SCMP_CMP_LE":        func(x uint64) bool { return x <= v },
		"SCMP_CMP_GT":        func(x uint64) bool { return x > v },
		"SCMP_CMP_GE":        func(x uint64) bool { return x >= v },
		"SCMP_CMP_MASKED_EQ": func(x uint64) bool { return x&v == 0x1_0000_0001 },
	}
	inputs := []uint64{0, 5, 6, v - 1, v, v + 1, 0x1_0000_0000, 0x1_ffff_ffff, 0x2_0000_0000, 0x2_0000_0005, 1<<64 - 1}
	for op, want := range ops {
		run := compileProfile(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
			"args": [{"index": 2, "value": 4294967301, "valueTwo": 4294967297, "op": "`+op+`"}]}]}`)
		for _, x := range inputs {
			exp := retEPERM
			if want(x) {
				exp = retAllow
			}
			if got := run(auditArch, "personality", 0, 0, x); got != exp {
				t.Errorf("%s: arg %#x = %#x, want %#x", op, x, got, exp)
			}
		}
	}
}

// TestSeccompProfileConditions: includes and excludes are resolved as for the default
// profile (capabilities of the container, architecture and kernel of the host).
func TestSeccompProfileConditions(t *testing.T) {
	native := map[string]string{"amd64": "amd64", "arm64": "arm64"}[goruntime.GOARCH]
	profile := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
		{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
		{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["` + native + `"]}},
		{"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "3.0"}},
		{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "250.0"}}]}`
	def, _ := capabilitySet(nil, nil, false)
	admin, _ := capabilitySet([]string{"SYS_ADMIN"}, nil, false)
	for _, c := range []struct {
		caps capMask
		want map[string]uint32
	}{
		{def, map[string]uint32{"mount": retEPERM, "read": retEPERM, "write": retAllow, "getpid": retEPERM}},
		{admin, map[string]uint32{"mount": retAllow}},
	} {
		f, err := seccompFilter(profile, c.caps)
		if err != nil {
			t.Fatal(err)
		}
		run := seccompVM(t, f)
		for name, want := range c.want {
			if got := run(auditArch, name); got != want {
				t.Errorf("caps %v: %s = %#x, want %#x", c.caps.names(), name, got, want)
			}
		}
	}
}

func TestCheckSeccompProfile(t *testing.T) {
	cases := []struct {
		profile string
		want    string // in the error
	}{
		{`{"defaultAction": "SCMP_ACT_ALLOW",` + "\n" + `  "syscalls": [}`, "line 2, column 16"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "errnoRet": "EPERM", "action": "SCMP_ACT_ERRNO"}]}`, "line 1, column 89"},
		{`{"defaultAction": "SCMP_ACT_ALLOW"} {}`, "more data after the profile"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscall": []}`, `unknown field "syscall"`},
		{`{}`, "no defaultAction (to run without a filter, use seccomp=unconfined)"},
		{`{"defaultAction": "SCMP_ACT_PERMIT"}`, `defaultAction: action "SCMP_ACT_PERMIT": unknown`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}`, "errnoRet 1 with SCMP_ACT_ALLOW"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ENOPERM"}]}`, `syscalls[0] (mkdir): action "SCMP_ACT_ENOPERM": unknown`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}`, "seccomp agent"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}`, "errnoRet 70000: out of range"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}`, "syscalls[0]: no names"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}`, "both name and names"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "argument index 6"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}`, `comparison "SCMP_CMP_LIKE": unknown`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_46"]}`, `architecture "SCMP_ARCH_X86_46": unknown`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, "both architectures and archMap"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}`, "flags [SECCOMP_FILTER_FLAG_LOG]: not supported"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}`, "seccomp agents"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["SYS_ADMIN"]}}]}`, `capability "SYS_ADMIN"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["x86_64"]}}]}`, `architecture "x86_64" in includes/excludes`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "5"}}]}`, "invalid kernel version"},
	}
	for _, c := range cases {
		err := checkSeccompProfile([]byte(c.profile))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  error %v, want %q in it", c.profile, err, c.want)
		}
	}
	// Good ones: the old single-name form, architectures, comments, unknown syscalls.
	for _, p := range []string{
		denyMkdir,
		`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
			{"name": "read", "action": "SCMP_ACT_ALLOW", "comment": "old form"},
			{"names": ["future_syscall_9"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_BPF"], "arches": ["amd64"]}}]}`,
	} {
		if err := checkSeccompProfile([]byte(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestReadSeccompProfiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "deny-mkdir.json")
	if err := os.WriteFile(path, []byte(denyMkdir), 0o644); err != nil {
		t.Fatal(err)
	}
	compact := `seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat","no_such_syscall"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`
	in := []string{"no-new-privileges", "seccomp=" + path, "seccomp:" + path, "seccomp=unconfined", "seccomp=builtin", compact}
	got, err := ReadSeccompProfiles(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"no-new-privileges", compact, compact, "seccomp=unconfined", "seccomp=builtin", compact}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if in[1] != "seccomp="+path {
		t.Error("the caller's slice was changed")
	}
	sec, err := securityOpts(got)
	if err != nil || sec.seccomp != compact[len("seccomp="):] {
		t.Errorf("securityOpts of the result: %+v %v", sec, err)
	}

	t.Chdir(dir) // a relative path is relative to the working directory
	if got, err := ReadSeccompProfiles([]string{"seccomp=deny-mkdir.json"}); err != nil || got[0] != compact {
		t.Errorf("relative path: %q %v", got, err)
	}

	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_EPERM\"}]\n}\n"), 0o644)
	for opt, want := range map[string]string{
		"seccomp=missing.json": "read seccomp profile: open missing.json: no such file or directory",
		"seccomp=bad.json":     `seccomp profile bad.json: syscalls[0] (mkdir): action "SCMP_ACT_EPERM": unknown`,
	} {
		_, err := ReadSeccompProfiles([]string{opt})
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", opt, err, want)
		}
	}
}

func TestSeccompProgramOfContainer(t *testing.T) {
	profile := "seccomp=" + denyMkdir
	for _, c := range []struct {
		spec  Spec
		mkdir uint32 // 0: no filter
	}{
		{Spec{}, retAllow},
		{Spec{SecurityOpt: []string{"seccomp=builtin"}}, retAllow},
		{Spec{SecurityOpt: []string{profile}}, retEPERM},
		{Spec{SecurityOpt: []string{profile, "seccomp=unconfined"}}, 0},
		{Spec{SecurityOpt: []string{profile}, Privileged: true}, 0},
	} {
		f, err := (&Container{Spec: c.spec}).seccompProgram()
		switch {
		case err != nil:
			t.Errorf("%+v: %v", c.spec, err)
		case c.mkdir == 0 && f != nil:
			t.Errorf("%+v: a filter, want none", c.spec)
		case c.mkdir != 0 && seccompVM(t, f)(auditArch, "mkdir") != c.mkdir:
			t.Errorf("%+v: mkdir is not %#x", c.spec, c.mkdir)
		}
	}
	// Create refuses a profile that does not compile, or a path the CLI did not read.
	for _, opt := range []string{`seccomp={"defaultAction": "SCMP_ACT_NOPE"}`, "seccomp=/etc/profile.json", "seccomp="} {
		s := Spec{Image: "x", SecurityOpt: []string{opt}}
		if err := s.validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: %v, want ErrInvalidSpec", opt, err)
		}
	}
	if s := (Spec{Image: "x", SecurityOpt: []string{profile}}); s.validate() != nil {
		t.Errorf("a valid profile refused: %v", s.validate())
	}
}
