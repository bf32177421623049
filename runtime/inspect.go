package runtime

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Inspect is the container in the shape of `docker inspect` (the fields that exist here),
// so scripts written against Docker's output keep working.
func (c *Container) Inspect() map[string]any {
	cmd := c.Command()
	cfg, _ := c.initConfig()
	state := map[string]any{
		"Status":     c.State.Status,
		"Running":    c.State.Status == StatusRunning || c.State.Status == StatusPaused,
		"Paused":     c.State.Status == StatusPaused,
		"Restarting": c.State.Status == StatusRestarting,
		"OOMKilled":  c.State.OOMKilled,
		"Dead":       c.State.Status == StatusDead,
		"Pid":        c.State.Pid,
		"ExitCode":   c.State.ExitCode,
		"Error":      c.State.Error,
		"StartedAt":  dockerTime(c.State.StartedAt),
		"FinishedAt": dockerTime(c.State.FinishedAt),
	}
	if c.State.Health != "" {
		streak := 0
		var log []map[string]any
		for _, r := range c.State.HealthLog {
			if r.ExitCode != 0 {
				streak++
			} else {
				streak = 0
			}
			log = append(log, map[string]any{"Start": r.Start, "End": r.End, "ExitCode": r.ExitCode, "Output": r.Output})
		}
		state["Health"] = map[string]any{"Status": c.State.Health, "FailingStreak": streak, "Log": log}
	}
	var mounts []map[string]any
	for _, m := range c.Spec.Mounts {
		mounts = append(mounts, map[string]any{"Type": m.Type, "Source": m.Source, "Destination": m.Target, "RW": !m.ReadOnly})
	}
	// Ports as bound (NetworkSettings.Ports), as asked (HostConfig.PortBindings; host port
	// "" when it is chosen at start), and every exposed port (Config.ExposedPorts: the
	// image's and the published ones), keyed "80/tcp" as Docker does.
	ports, bindings := portMap(c.Ports), portMap(c.Spec.Ports)
	exposed := map[string]struct{}{}
	for _, p := range c.Image.ExposedPorts {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		exposed[p] = struct{}{}
	}
	for key := range bindings {
		exposed[key] = struct{}{}
	}
	volumes := map[string]struct{}{}
	for _, v := range c.Image.Volumes {
		volumes[v] = struct{}{}
	}
	nets := map[string]any{}
	for name, e := range c.Networks {
		nets[name] = map[string]any{"NetworkID": e.NetworkID, "IPAddress": e.IPAddress, "IPPrefixLen": e.IPPrefixLen,
			"Gateway": e.Gateway, "MacAddress": e.MacAddress, "Aliases": e.Aliases}
	}
	var stopTimeout *int
	if c.Spec.StopTimeout != nil {
		s := int(*c.Spec.StopTimeout / time.Second)
		stopTimeout = &s
	}
	var ulimits []map[string]any
	for _, u := range c.Spec.Ulimits {
		ulimits = append(ulimits, map[string]any{"Name": u.Name, "Soft": u.Soft, "Hard": u.Hard})
	}
	var path string
	var args []string
	if len(cmd) > 0 {
		path, args = cmd[0], cmd[1:]
	}
	return map[string]any{
		"Id":             c.ID,
		"Created":        dockerTime(c.Created),
		"Path":           path,
		"Args":           args,
		"State":          state,
		"Image":          c.ImageID,
		"ResolvConfPath": c.ResolvConfPath(),
		"HostnamePath":   c.HostnamePath(),
		"HostsPath":      c.HostsPath(),
		"LogPath":        c.LogPath(),
		"Name":           "/" + c.Name,
		"RestartCount":   c.State.RestartCount,
		"Driver":         "overlay",
		"Platform":       "linux",
		"Mounts":         mounts,
		"Config": map[string]any{
			"Hostname": c.hostname(), "Domainname": c.Spec.Domainname, "User": cfg.User, "Tty": c.Spec.Tty,
			"OpenStdin": c.Spec.OpenStdin, "Env": cfg.Env, "Cmd": c.Spec.Cmd, "Entrypoint": c.Spec.Entrypoint,
			"Image": c.Spec.Image, "WorkingDir": cfg.Cwd, "Labels": c.Spec.Labels, "StopSignal": unix.SignalName(c.stopSignal()),
			"StopTimeout": stopTimeout, "Healthcheck": c.healthcheck(), "ExposedPorts": exposed, "Volumes": volumes,
		},
		"HostConfig": map[string]any{
			"Memory": c.Spec.Memory, "NanoCpus": int64(c.Spec.CPUs * 1e9), "PidsLimit": c.Spec.PidsLimit,
			"RestartPolicy": map[string]any{"Name": c.Spec.Restart.Name, "MaximumRetryCount": c.Spec.Restart.MaxRetries},
			"AutoRemove":    c.Spec.AutoRemove, "Privileged": c.Spec.Privileged, "ReadonlyRootfs": c.Spec.ReadOnly,
			"CapAdd": c.Spec.CapAdd, "CapDrop": c.Spec.CapDrop, "SecurityOpt": c.Spec.SecurityOpt,
			"Init": c.Spec.Init, "Sysctls": c.Spec.Sysctls, "Ulimits": ulimits, "ExtraHosts": c.Spec.ExtraHosts,
			"NetworkMode": networkMode(c), "PortBindings": bindings,
		},
		"GraphDriver": map[string]any{"Name": "overlay", "Data": map[string]string{
			"LowerDir": strings.Join(c.Image.LowerDirs, ":"), "UpperDir": c.dir + "/upper",
			"WorkDir": c.dir + "/work", "MergedDir": c.rootfs(),
		}},
		"NetworkSettings": map[string]any{"Networks": nets, "Ports": ports, "SandboxKey": c.NetNSPath()},
	}
}

// portMap groups port mappings by "port/protocol", as Docker's NetworkSettings.Ports and
// HostConfig.PortBindings do.
func portMap(ps []PortMapping) map[string][]map[string]string {
	out := map[string][]map[string]string{}
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		hostPort := ""
		if p.HostPort != 0 {
			hostPort = strconv.Itoa(int(p.HostPort))
		}
		key := strconv.Itoa(int(p.ContainerPort)) + "/" + proto
		out[key] = append(out[key], map[string]string{"HostIp": p.HostIP, "HostPort": hostPort})
	}
	return out
}

func networkMode(c *Container) string {
	if len(c.Spec.Networks) == 0 {
		return "none"
	}
	return c.Spec.Networks[0].Name
}

// dockerTime formats like Docker (RFC 3339 with nanoseconds; the zero time as 0001-01-01).
func dockerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
