package runtime

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process is one process of a running container, as `top` shows it.
type Process struct {
	PID     int // host PID
	PPID    int
	UID     int
	CPUTime time.Duration
	Command string // the command line
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on every Linux ABI).
const clockTicks = 100

// Top lists the processes of a running container from its cgroup.
func (m *Manager) Top(idOrName string) ([]Process, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return nil, err
	}
	if !c.Running() {
		return nil, fmt.Errorf("top %s: %w", c.Name, ErrNotRunning)
	}
	cg, err := loadCgroup(c.ID)
	if err != nil {
		return nil, err
	}
	pids, err := cg.pids()
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, pid := range pids {
		p := Process{PID: pid}
		base := "/proc/" + strconv.Itoa(pid)
		stat, err := os.ReadFile(base + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) > 12 {
				p.PPID, _ = strconv.Atoi(f[1])
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				p.CPUTime = time.Duration(ut+st) * time.Second / clockTicks
			}
		}
		if st, err := os.Stat(base); err == nil {
			p.UID = int(statUID(st))
		}
		cmdline, _ := os.ReadFile(base + "/cmdline")
		p.Command = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if p.Command == "" {
			if i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')'); i >= 0 && j > i {
				p.Command = "[" + string(stat[i+1:j]) + "]"
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// Stats reads a running container's memory, CPU and process count from its cgroup.
func (m *Manager) Stats(idOrName string) (Stats, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return Stats{}, err
	}
	if !c.Running() {
		return Stats{}, fmt.Errorf("stats %s: %w", c.Name, ErrNotRunning)
	}
	cg, err := loadCgroup(c.ID)
	if err != nil {
		return Stats{}, err
	}
	return cg.stats()
}

// Size returns the size of the container's read/write layer and its virtual size (the layer
// plus the image's layers), as `ps -s` shows them.
func (m *Manager) Size(c *Container) (rw, virtual int64, err error) {
	rw, err = dirSize(filepath.Join(c.dir, "upper"))
	if err != nil {
		return 0, 0, err
	}
	virtual = rw
	for _, l := range c.Image.LowerDirs {
		n, err := dirSize(l)
		if err != nil {
			return 0, 0, err
		}
		virtual += n
	}
	return rw, virtual, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
