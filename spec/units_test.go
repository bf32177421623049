package spec

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false}, {"1024", 1024, false}, {"10b", 10, false}, {"1k", 1024, false},
		{"1kb", 1024, false}, {"512m", 512 << 20, false}, {"512MB", 512 << 20, false},
		{"1g", 1 << 30, false}, {"1.5g", 3 << 29, false}, {"2t", 2 << 40, false}, {"1 m", 1 << 20, false},
		{"", 0, true}, {"m", 0, true}, {"12q", 0, true}, {"1.2.3g", 0, true}, {"-1", 0, true},
		{"1bb", 0, true}, {"99999999999t", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"0", 0, false}, {"0s", 0, false}, {"10s", 10 * time.Second, false}, {"1m30s", 90 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false}, {"2h", 2 * time.Hour, false}, {"100us", 100 * time.Microsecond, false},
		{"10", 0, true}, {"-1s", 0, true}, {"1d", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want os.FileMode
		out  string
		err  bool
	}{
		{in: "1777", want: 0o777 | os.ModeSticky, out: "1777"},
		{in: "0755", want: 0o755, out: "0755"},
		{in: "0o700", want: 0o700, out: "0700"},
		{in: "4755", want: 0o755 | os.ModeSetuid, out: "4755"},
		{in: "2750", want: 0o750 | os.ModeSetgid, out: "2750"},
		{in: "999", err: true}, {in: "17777", err: true}, {in: "rwx", err: true},
	}
	for _, tt := range tests {
		got, err := parseMode(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseMode(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
			continue
		}
		if !tt.err && formatMode(got) != tt.out {
			t.Errorf("formatMode(%v) = %q, want %q", got, formatMode(got), tt.out)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "", want: []string{}},
		{in: "   ", want: []string{}},
		{in: "echo hello  world", want: []string{"echo", "hello", "world"}},
		{in: `sh -c "echo \"hi\" $HOME"`, want: []string{"sh", "-c", `echo "hi" $HOME`}},
		{in: `echo 'a b' c\ d`, want: []string{"echo", "a b", "c d"}},
		{in: `a'b'"c"`, want: []string{"abc"}},
		{in: `""`, want: []string{""}},
		{in: `"a \n b"`, want: []string{`a \n b`}},
		{in: `'open`, err: true},
		{in: `"open`, err: true},
	}
	for _, tt := range tests {
		got, err := SplitWords(tt.in)
		if (err != nil) != tt.err || (!tt.err && !slices.Equal(got, tt.want)) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSignalAndCapabilityNames(t *testing.T) {
	for in, want := range map[string]string{"SIGTERM": "SIGTERM", "term": "SIGTERM", "15": "SIGTERM", "SIGQUIT": "SIGQUIT", "usr1": "SIGUSR1", "9": "SIGKILL"} {
		if got, err := signalName(in); err != nil || got != want {
			t.Errorf("signalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"SIGFOO", "999", ""} {
		if _, err := signalName(bad); err == nil {
			t.Errorf("signalName(%q): want an error", bad)
		}
	}
	for in, want := range map[string]string{"NET_ADMIN": "CAP_NET_ADMIN", "cap_sys_admin": "CAP_SYS_ADMIN", "all": "ALL", "CAP_BPF": "CAP_BPF"} {
		if got, err := capabilityName(in); err != nil || got != want {
			t.Errorf("capabilityName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := capabilityName("FLY"); err == nil {
		t.Error("capabilityName(FLY): want an error")
	}
}

func TestSuggest(t *testing.T) {
	keys := keysService.supported
	for in, want := range map[string]string{
		"imgae": "image", "comand": "command", "container-name": "container_name", "Ports": "ports",
		"enviroment": "environment", "dependson": "depends_on", "xyzzy": "", "a": "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
