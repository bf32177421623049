package image

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyChanges applies Dockerfile-style instructions to an image config, as `docker import
// --change` does: CMD, ENTRYPOINT (JSON array or shell form), ENV, LABEL (key=value pairs, or
// one "key value"), WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL. An instruction it does not
// know wraps ErrInvalidChange.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, c := range changes {
		c = strings.TrimSpace(c)
		instr, args, _ := strings.Cut(c, " ")
		args = strings.TrimSpace(args)
		if args == "" {
			return fmt.Errorf("change %q: missing arguments: %w", c, ErrInvalidChange)
		}
		var err error
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd, err = commandForm(args)
		case "ENTRYPOINT":
			cfg.Entrypoint, err = commandForm(args)
		case "ENV":
			var kv [][2]string
			if kv, err = keyValues(args); err == nil {
				for _, p := range kv {
					cfg.Env = setEnv(cfg.Env, p[0], p[1])
				}
			}
		case "LABEL":
			var kv [][2]string
			if kv, err = keyValues(args); err == nil {
				if cfg.Labels == nil {
					cfg.Labels = map[string]string{}
				}
				for _, p := range kv {
					cfg.Labels[p[0]] = p[1]
				}
			}
		case "WORKDIR":
			cfg.WorkingDir = args
		case "USER":
			cfg.User = args
		case "STOPSIGNAL":
			cfg.StopSignal = args
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range strings.Fields(args) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "VOLUME":
			var vols []string
			if strings.HasPrefix(args, "[") {
				err = json.Unmarshal([]byte(args), &vols)
			} else {
				vols = strings.Fields(args)
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		default:
			return fmt.Errorf("change %q: unsupported instruction %s: %w", c, instr, ErrInvalidChange)
		}
		if err != nil {
			return fmt.Errorf("change %q: %w: %v", c, ErrInvalidChange, err)
		}
	}
	return nil
}

// commandForm parses the exec form (a JSON array) or the shell form (run by /bin/sh -c).
func commandForm(args string) ([]string, error) {
	if strings.HasPrefix(args, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			return nil, fmt.Errorf("parse JSON array: %w", err)
		}
		return argv, nil
	}
	return []string{"/bin/sh", "-c", args}, nil
}

// keyValues parses "k=v k2='v 2'" (quotes and backslashes as a shell reads them) or the old
// single-pair form "k v w" (k = "v w").
func keyValues(args string) ([][2]string, error) {
	words, err := shellWords(args)
	if err != nil {
		return nil, err
	}
	if len(words) > 0 && !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(args, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	out := make([][2]string, 0, len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// shellWords splits s into words, honouring single and double quotes and backslashes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// setEnv sets key=value in env, replacing an earlier value of key.
func setEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}
