package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// keySet lists the keys of one kind of mapping: the ones stack supports, and the ones the
// compose specification defines that stack does not support (a warning, the key is
// ignored). Any other key is an error with a did-you-mean suggestion. Keys starting with
// "x-" are extensions and always allowed.
type keySet struct {
	supported   []string
	unsupported []string
}

func (ks *keySet) has(list []string, key string) bool {
	for _, k := range list {
		if k == key {
			return true
		}
	}
	return false
}

var (
	keysTop = &keySet{
		supported:   []string{"version", "name", "services", "volumes", "networks"},
		unsupported: []string{"secrets", "configs", "include", "models"},
	}
	keysService = &keySet{
		supported: []string{"image", "build", "command", "entrypoint", "environment", "env_file",
			"ports", "expose", "volumes", "tmpfs", "depends_on", "healthcheck", "restart",
			"container_name", "hostname", "user", "working_dir", "labels", "init", "stop_signal",
			"stop_grace_period", "read_only", "cap_add", "cap_drop", "mem_limit", "cpus",
			"pids_limit", "deploy", "scale", "networks", "profiles", "extra_hosts", "ulimits",
			"sysctls", "extends", "security_opt", "privileged", "tty", "stdin_open"},
		unsupported: []string{"annotations", "attach", "blkio_config", "cpu_count", "cpu_percent",
			"cpu_shares", "cpu_period", "cpu_quota", "cpu_rt_runtime", "cpu_rt_period", "cpuset",
			"cgroup", "cgroup_parent", "configs", "credential_spec", "develop",
			"device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
			"external_links", "gpus", "group_add", "ipc", "isolation", "label_file", "links",
			"logging", "mac_address", "mem_reservation", "mem_swappiness", "memswap_limit",
			"models", "network_mode", "oom_kill_disable", "oom_score_adj", "pid", "platform",
			"post_start", "pre_stop", "provider", "pull_policy", "pull_refresh_after", "runtime",
			"secrets", "shm_size", "storage_opt", "use_api_socket", "userns_mode", "uts",
			"volumes_from"},
	}
	keysBuild = &keySet{
		supported: []string{"context", "dockerfile", "args", "target"},
		unsupported: []string{"dockerfile_inline", "ssh", "cache_from", "cache_to",
			"additional_contexts", "entitlements", "extra_hosts", "isolation", "network",
			"privileged", "secrets", "tags", "shm_size", "labels", "no_cache", "pull",
			"platforms", "ulimits", "provenance", "sbom"},
	}
	keysDeploy = &keySet{
		supported: []string{"replicas", "resources"},
		unsupported: []string{"mode", "labels", "restart_policy", "rollback_config",
			"update_config", "placement", "endpoint_mode"},
	}
	keysResources  = &keySet{supported: []string{"limits"}, unsupported: []string{"reservations"}}
	keysLimits     = &keySet{supported: []string{"cpus", "memory", "pids"}, unsupported: []string{"devices"}}
	keysHealth     = &keySet{supported: []string{"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}}
	keysDependency = &keySet{supported: []string{"condition", "restart", "required"}}
	keysPort       = &keySet{supported: []string{"target", "published", "host_ip", "protocol", "mode"}, unsupported: []string{"name", "app_protocol"}}
	keysMount      = &keySet{supported: []string{"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"}, unsupported: []string{"image"}}
	keysMountBind  = &keySet{supported: []string{"create_host_path"}, unsupported: []string{"propagation", "selinux", "recursive"}}
	keysMountVol   = &keySet{unsupported: []string{"nocopy", "subpath"}}
	keysMountTmpfs = &keySet{supported: []string{"size", "mode"}}
	keysSvcNetwork = &keySet{
		supported: []string{"aliases", "ipv4_address"},
		unsupported: []string{"ipv6_address", "link_local_ips", "mac_address", "priority",
			"driver_opts", "gw_priority", "interface_name"},
	}
	keysVolume   = &keySet{supported: []string{"name", "driver", "external", "labels"}, unsupported: []string{"driver_opts"}}
	keysNetwork  = &keySet{supported: []string{"name", "driver", "external", "internal", "labels", "ipam"}, unsupported: []string{"driver_opts", "attachable", "enable_ipv6", "enable_ipv4"}}
	keysIPAM     = &keySet{supported: []string{"config", "driver"}, unsupported: []string{"options"}}
	keysIPAMPool = &keySet{supported: []string{"subnet", "gateway"}, unsupported: []string{"ip_range", "aux_addresses"}}
	keysExtends  = &keySet{supported: []string{"service", "file"}}
	keysUlimit   = &keySet{supported: []string{"soft", "hard"}}
	keysEnvFile  = &keySet{supported: []string{"path", "required"}, unsupported: []string{"format"}}
)

// fields walks the pairs of mapping n: duplicate keys are errors, x- keys are skipped,
// unsupported keys warn, unknown keys are errors with a suggestion, and fn is called for
// each supported key with the key path of its value. It reports whether n is a mapping.
func (l *loader) fields(n *yaml.Node, path string, ks *keySet, fn func(key string, k, v *yaml.Node, p string)) bool {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a mapping, not %s", kindName(n))
		return false
	}
	var seen map[string]*yaml.Node
	if len(n.Content) > 2 {
		seen = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		p := joinPath(path, key)
		if seen != nil {
			if prev, dup := seen[key]; dup {
				l.errorf(k, p, "key %q is already defined at line %d", key, prev.Line)
				continue
			}
			seen[key] = k
		}
		switch {
		case k.Kind != yaml.ScalarNode:
			l.errorf(k, path, "a key must be a string, not %s", kindName(k))
		case strings.HasPrefix(key, "x-"):
		case ks.has(ks.supported, key):
			fn(key, k, v, p)
		case ks.has(ks.unsupported, key):
			l.warn(k, "%s is not supported by stack and is ignored", p)
		default:
			msg := "unknown key " + quote(key)
			if s := suggest(key, ks.supported, ks.unsupported); s != "" {
				msg += ", did you mean " + quote(s) + "?"
			}
			l.errorf(k, path, "%s", msg)
		}
	}
	return true
}

func quote(s string) string { return `"` + s + `"` }

// suggest returns the candidate closest to word in edit distance, if it is close enough
// to be a plausible typo, else "".
func suggest(word string, lists ...[]string) string {
	best, bestDist := "", len(word)/2+1
	if bestDist > 4 {
		bestDist = 4
	}
	norm := strings.ToLower(strings.ReplaceAll(word, "-", "_"))
	for _, list := range lists {
		for _, c := range list {
			if c == norm {
				return c
			}
			if d := editDistance(norm, c); d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
