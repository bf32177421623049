package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// procStat returns the state (field 3) and start time (field 22, clock ticks since boot) of
// a process from /proc/PID/stat. With the PID the start time identifies a process for good:
// a reused PID has a later start time.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may contain spaces and parentheses: skip to the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: no command field", pid)
	}
	fields := bytes.Fields(data[i+1:]) // fields[0] is field 3
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// procStartTime returns the start time of pid (see procStat).
func procStartTime(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// processAlive reports whether pid is still the process that started at start, and not a
// zombie (whose work is done).
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	state, st, err := procStat(pid)
	return err == nil && state != 'Z' && state != 'X' && st == start
}

// statUID is the owner of a file (of /proc/PID: the process's real UID).
func statUID(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 0
}
