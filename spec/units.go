package spec

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// parseSize reads a byte size as Docker and compose write it: a number with an optional
// unit b, k, m, g, t (or kb, mb, ...; case-insensitive; 1024-based), e.g. "512m", "1.5g".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSuffix(strings.TrimSpace(t[i:]), "b")
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil {
		return 0, fmt.Errorf("invalid size %q: want a number of bytes with an optional unit (b, k, m, g, t), e.g. 512m", s)
	}
	mult := float64(1)
	switch unit {
	case "":
		if strings.HasSuffix(t, "b") && t[i:] != "b" {
			return 0, fmt.Errorf("invalid size %q: unknown unit", s)
		}
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (b, k, m, g, t)", s, t[i:])
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(v), nil
}

// parseDuration reads a duration as compose writes it: Go syntax with units us, ms, s, m,
// h ("1m30s"), or "0". Negative durations are errors.
func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, e.g. 10s, 1m30s, 500ms", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

// parseMode reads file permission bits in octal ("1777", "0755", "0o700").
func parseMode(s string) (os.FileMode, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	v, err := strconv.ParseUint(t, 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: want octal permission bits, e.g. 1777", s)
	}
	m := os.FileMode(v & 0o777)
	if v&0o1000 != 0 {
		m |= os.ModeSticky
	}
	if v&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if v&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	return m, nil
}

// formatMode writes permission bits back in octal, the inverse of parseMode.
func formatMode(m os.FileMode) string {
	v := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		v |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		v |= 0o4000
	}
	return fmt.Sprintf("%04o", v)
}

var errUnterminatedQuote = errors.New("unterminated quote")

// SplitWords splits a command line into words as a POSIX shell does (quotes and
// backslashes), without expanding anything: compose's treatment of a string command.
func SplitWords(s string) ([]string, error) {
	words := []string{}
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errUnterminatedQuote
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errUnterminatedQuote
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// signalName canonicalizes a signal given as SIGTERM, TERM or 15 to its name (SIGTERM).
func signalName(s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if name := unix.SignalName(unix.Signal(n)); name != "" {
			return name, nil
		}
		return "", fmt.Errorf("unknown signal number %d", n)
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) == 0 {
		return "", fmt.Errorf("unknown signal %q", s)
	}
	return name, nil
}

// capabilities are the Linux capability names (capability(7)) without the CAP_ prefix.
var capabilities = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "DAC_READ_SEARCH": true, "FOWNER": true, "FSETID": true,
	"KILL": true, "SETGID": true, "SETUID": true, "SETPCAP": true, "LINUX_IMMUTABLE": true,
	"NET_BIND_SERVICE": true, "NET_BROADCAST": true, "NET_ADMIN": true, "NET_RAW": true,
	"IPC_LOCK": true, "IPC_OWNER": true, "SYS_MODULE": true, "SYS_RAWIO": true, "SYS_CHROOT": true,
	"SYS_PTRACE": true, "SYS_PACCT": true, "SYS_ADMIN": true, "SYS_BOOT": true, "SYS_NICE": true,
	"SYS_RESOURCE": true, "SYS_TIME": true, "SYS_TTY_CONFIG": true, "MKNOD": true, "LEASE": true,
	"AUDIT_WRITE": true, "AUDIT_CONTROL": true, "SETFCAP": true, "MAC_OVERRIDE": true,
	"MAC_ADMIN": true, "SYSLOG": true, "WAKE_ALARM": true, "BLOCK_SUSPEND": true,
	"AUDIT_READ": true, "PERFMON": true, "BPF": true, "CHECKPOINT_RESTORE": true,
}

// capabilityName canonicalizes "net_admin" or "CAP_NET_ADMIN" to "CAP_NET_ADMIN"; "ALL"
// stays "ALL".
func capabilityName(s string) (string, error) {
	name := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
	if name == "ALL" {
		return name, nil
	}
	if !capabilities[name] {
		return "", fmt.Errorf("unknown capability %q", s)
	}
	return "CAP_" + name, nil
}

// ulimitNames are the resource limits Docker accepts (setrlimit(2) without RLIMIT_).
var ulimitNames = map[string]bool{
	"as": true, "core": true, "cpu": true, "data": true, "fsize": true, "locks": true,
	"memlock": true, "msgqueue": true, "nice": true, "nofile": true, "nproc": true, "rss": true,
	"rtprio": true, "rttime": true, "sigpending": true, "stack": true,
}
