package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stackhq/stack/runtime/image"
)

// defaultPath is the PATH buildkit gives images that set none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// state is where a stage stands after its last step.
type state struct {
	s      *stage
	img    *image.Image // nil while a FROM scratch stage has no image yet
	cfg    v1.Config
	args   map[string]string // ARGs declared in this stage, with values
	cmdSet bool              // CMD was set in this stage (ENTRYPOINT keeps it)
	step   int
	total  int
}

func (st *state) parentID() string {
	if st.img == nil {
		return "scratch"
	}
	return st.img.ID
}

func (st *state) setImage(img *image.Image) {
	st.img = img
	st.cfg = img.Config.Config
}

// lookup resolves a variable for substitution: ENV of the stage wins over its ARGs.
func (st *state) lookup(name string) (string, bool) {
	if v, ok := st.lookupEnv(name); ok {
		return v, true
	}
	v, ok := st.args[name]
	return v, ok
}

// lookupEnv finds a variable in the config's Env.
func (st *state) lookupEnv(name string) (string, bool) {
	for i := len(st.cfg.Env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(st.cfg.Env[i], "="); k == name {
			return v, true
		}
	}
	return "", false
}

// shell is the SHELL in effect.
func (st *state) shell() []string {
	if len(st.cfg.Shell) > 0 {
		return st.cfg.Shell
	}
	return []string{"/bin/sh", "-c"}
}

// setEnv sets one variable in a config's Env, keeping its position when it exists.
func setEnv(cfg *v1.Config, k, v string) {
	for i, kv := range cfg.Env {
		if name, _, _ := strings.Cut(kv, "="); name == k {
			cfg.Env = append(cfg.Env[:i:i], append([]string{k + "=" + v}, cfg.Env[i+1:]...)...)
			return
		}
	}
	cfg.Env = append(cfg.Env[:len(cfg.Env):len(cfg.Env)], k+"="+v)
}

// runStage builds one stage into s.result.
func (b *builder) runStage(s *stage) error {
	st := &state{s: s, args: map[string]string{}}
	base, err := b.baseName(s)
	if err != nil {
		return err
	}
	nodes := s.nodes
	fromErr := b.from(st, base)
	if fromErr == nil && len(st.cfg.OnBuild) > 0 {
		triggers, err := Parse(strings.NewReader(strings.Join(st.cfg.OnBuild, "\n")))
		if err != nil {
			fromErr = fmt.Errorf("ONBUILD trigger of %s: %w", base, err)
		} else {
			for _, t := range triggers.Nodes {
				t.StartLine = s.from.StartLine
			}
			nodes = append(triggers.Nodes, nodes...)
			st.cfg.OnBuild = nil
		}
	}
	if b.isTarget(s) && len(b.opts.Labels) > 0 {
		nodes = append(nodes, labelNode(b.opts.Labels, s))
	}
	st.total = len(nodes) + 1
	st.step = 1
	log := b.prog.step(fmt.Sprintf("[%s1/%d] FROM %s", s.label(b.multi), st.total, base))
	if fromErr != nil {
		log.fail(fromErr)
		return b.lineErr(s.from, fromErr)
	}
	log.done()
	for _, n := range nodes {
		st.step++
		if err := b.dispatch(st, n); err != nil {
			return b.lineErr(n, err)
		}
	}
	if st.img == nil || (len(st.cfg.OnBuild) == 0 && len(st.img.Config.Config.OnBuild) > 0) {
		// FROM scratch with no step, or an image whose triggers ran without another step:
		// materialize the config as it stands.
		if err := b.commitMeta(st, "", nil); err != nil {
			return err
		}
	}
	s.result = st.img
	return nil
}

// isTarget reports whether s is the stage whose image the build returns.
func (b *builder) isTarget(s *stage) bool {
	if b.opts.Target == "" {
		return s == b.stages[len(b.stages)-1]
	}
	return b.stageByName(b.opts.Target, len(b.stages)) == s
}

// labelNode turns --label values into a LABEL step at the end of the target stage.
func labelNode(labels map[string]string, s *stage) *Node {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := &Node{Cmd: "label", StartLine: s.from.StartLine, EndLine: s.from.StartLine}
	var parts []string
	for _, k := range keys {
		n.Args = append(n.Args, strconv.Quote(k), strconv.Quote(labels[k]))
		parts = append(parts, strconv.Quote(k)+"="+strconv.Quote(labels[k]))
	}
	n.Original = "LABEL " + strings.Join(parts, " ")
	return n
}

// from sets the stage's starting point: scratch, an earlier stage, or a stored image.
func (b *builder) from(st *state, base string) error {
	for _, fl := range st.s.from.Flags {
		name, v, _ := strings.Cut(fl, "=")
		if name != "--platform" {
			return fmt.Errorf("FROM flag %s: %w", name, ErrUnsupported)
		}
		p, err := expandWord(v, b.df.Escape, b.lookupIn(b.metaArgs))
		if err != nil {
			return err
		}
		if p != "linux/amd64" {
			return fmt.Errorf("platform %q (only linux/amd64): %w", p, ErrUnsupported)
		}
	}
	switch dep := b.stageByNameOnly(base, st.s.index); {
	case dep != nil:
		st.setImage(dep.result)
	case base == "scratch":
	default:
		img, err := b.image(base)
		if err != nil {
			return err
		}
		st.setImage(img)
	}
	if _, ok := st.lookupEnv("PATH"); !ok {
		// as buildkit does, so RUN finds its commands in images that set no PATH
		st.cfg.Env = append(st.cfg.Env[:len(st.cfg.Env):len(st.cfg.Env)], defaultPath)
	}
	return nil
}

// image returns a stored image, pulling it from its registry when the store lacks it, as
// docker build does for FROM and COPY --from.
func (b *builder) image(ref string) (*image.Image, error) {
	img, err := b.opts.Store.Get(ref)
	if err == nil || !errors.Is(err, image.ErrNotFound) {
		return img, err
	}
	log := b.prog.step("[internal] pull " + ref)
	img, perr := b.opts.Store.Pull(b.ctx, ref, image.PullOptions{})
	if perr != nil {
		log.fail(perr)
		return nil, fmt.Errorf("image %s: %w (pull: %w)", ref, err, perr)
	}
	log.done()
	return img, nil
}

// step is what one instruction asks of the store.
type step struct {
	text   string                                                    // canonical instruction: cache key and created_by
	digest string                                                    // content digest of copied files
	config func(cfg *v1.Config)                                      // metadata change, nil for none
	fs     func(b *builder, st *state, log *stepLog) (string, error) // writes a layer tar, returns its path ("" if unchanged)
}

// dispatch runs one instruction.
func (b *builder) dispatch(st *state, n *Node) error {
	label := fmt.Sprintf("[%s%d/%d] ", st.s.label(b.multi), st.step, st.total)
	log := b.prog.step(label + displayText(n))
	sp, err := b.plan(st, n)
	if err != nil {
		log.fail(err)
		return err
	}
	if sp == nil { // ARG: build state only, nothing to cache
		log.done()
		return nil
	}
	if err := b.doStep(st, sp, log); err != nil {
		log.fail(err)
		return err
	}
	return nil
}

// displayText is the instruction as the output shows it.
func displayText(n *Node) string {
	cmd, rest, _ := strings.Cut(n.Original, " ")
	text := strings.ToUpper(cmd) + " " + rest
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	return strings.TrimSpace(text)
}

// doStep reuses the cached image for sp or makes it, then records it in the cache.
func (b *builder) doStep(st *state, sp *step, log *stepLog) (retErr error) {
	key := stepKey(st.parentID(), sp.text, st.args, sp.digest)
	if !b.opts.NoCache {
		id, err := cacheGet(b.opts.Root, key)
		if err != nil {
			return err
		}
		if id != "" {
			if img, err := b.opts.Store.Get(id); err == nil {
				st.setImage(img)
				log.markCached()
				return nil
			}
		}
	}
	var layer string
	if sp.fs != nil {
		var err error
		if layer, err = sp.fs(b, st, log); err != nil {
			return err
		}
		if layer != "" {
			defer os.Remove(layer)
		}
	}
	if err := b.commitMeta(st, layer, sp); err != nil {
		return err
	}
	if err := cachePut(b.opts.Root, key, st.img.ID); err != nil {
		return err
	}
	log.done()
	return nil
}

// commitMeta creates the next image of the stage: the layer at layer (if any), the config
// changed by sp.config, one history entry.
func (b *builder) commitMeta(st *state, layer string, sp *step) error {
	cfg := st.cfg
	hist := v1.History{Created: historyNow(), EmptyLayer: layer == ""}
	if sp != nil {
		if sp.config != nil {
			sp.config(&cfg)
		}
		hist.CreatedBy = sp.text
	}
	opts := image.CreateOptions{Parent: st.img, Config: cfg, History: []v1.History{hist}}
	if layer != "" {
		opts.Layers = []string{layer}
	}
	img, err := b.opts.Store.Create(b.ctx, opts)
	if err != nil {
		return fmt.Errorf("commit image: %w", err)
	}
	st.setImage(img)
	return nil
}

// withScratch runs fn on a scratch overlay of the image so far and returns the layer tar
// of what it changed ("" when nothing). The overlay is gone when it returns.
func (b *builder) withScratch(st *state, fn func(rootfs string) error) (_ string, retErr error) {
	var lowers []string
	if st.img != nil {
		lowers = st.img.LowerDirs()
	}
	sfs, err := mountScratch(b.opts.Root, lowers)
	if err != nil {
		return "", err
	}
	defer func() {
		if err := sfs.Close(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	if err := fn(sfs.merged); err != nil {
		return "", err
	}
	return writeLayer(b.opts.Root, sfs.upper)
}

// writeLayer writes upper as a layer tar in the scratch area; "" when upper is empty.
func writeLayer(root, upper string) (_ string, retErr error) {
	des, err := os.ReadDir(upper)
	if err != nil {
		return "", fmt.Errorf("read upper dir: %w", err)
	}
	if len(des) == 0 {
		return "", nil
	}
	base := filepath.Join(cacheDir(root), scratchDirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("create layer: %w", err)
	}
	f, err := os.CreateTemp(base, "layer-*.tar")
	if err != nil {
		return "", fmt.Errorf("create layer: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.Remove(f.Name())
		}
	}()
	werr := image.WriteDiff(f, upper)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write layer: %w", err)
	}
	return f.Name(), nil
}

// plan turns an instruction into a step, substituting variables where Docker does. It
// returns nil for ARG, which changes only the build's state.
func (b *builder) plan(st *state, n *Node) (*step, error) {
	esc := b.df.Escape
	word := func(s string) (string, error) { return expandWord(s, esc, st.lookup) }
	switch n.Cmd {
	case "arg":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		return nil, b.declareArgs(n, st.args, b.metaArgs, st.lookup)
	case "env", "label":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		var kv []string
		for _, a := range n.Args {
			v, err := word(a)
			if err != nil {
				return nil, err
			}
			kv = append(kv, v)
		}
		var parts []string
		for i := 0; i < len(kv); i += 2 {
			parts = append(parts, kv[i]+"="+kv[i+1])
		}
		cmd := strings.ToUpper(n.Cmd)
		return &step{text: cmd + " " + strings.Join(parts, " "), config: func(cfg *v1.Config) {
			for i := 0; i < len(kv); i += 2 {
				if cmd == "ENV" {
					setEnv(cfg, kv[i], kv[i+1])
					continue
				}
				if cfg.Labels == nil {
					cfg.Labels = map[string]string{}
				} else {
					cfg.Labels = cloneMap(cfg.Labels)
				}
				cfg.Labels[kv[i]] = kv[i+1]
			}
		}}, nil
	case "maintainer":
		// the author field lives in the config file, which image.CreateOptions does not take
		return nil, fmt.Errorf("MAINTAINER (deprecated; use LABEL maintainer=...): %w", ErrUnsupported)
	case "expose":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		var ports []string
		for _, a := range n.Args {
			ws, err := expandWords(a, esc, st.lookup)
			if err != nil {
				return nil, err
			}
			for _, p := range ws {
				np, err := normalizePort(p)
				if err != nil {
					return nil, err
				}
				ports = append(ports, np)
			}
		}
		return &step{text: "EXPOSE " + strings.Join(ports, " "), config: func(cfg *v1.Config) {
			cfg.ExposedPorts = withKeys(cfg.ExposedPorts, ports)
		}}, nil
	case "volume":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		var vols []string
		for _, a := range n.Args {
			v, err := word(a)
			if err != nil {
				return nil, err
			}
			if v == "" {
				return nil, fmt.Errorf("VOLUME specified can not be an empty string: %w", ErrSyntax)
			}
			vols = append(vols, v)
		}
		if len(vols) == 0 {
			return nil, fmt.Errorf("VOLUME requires at least one argument: %w", ErrSyntax)
		}
		return &step{text: "VOLUME " + jsonText(vols), config: func(cfg *v1.Config) {
			cfg.Volumes = withKeys(cfg.Volumes, vols)
		}}, nil
	case "user", "stopsignal":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		if len(n.Args) != 1 {
			return nil, fmt.Errorf("%s requires exactly one argument: %w", strings.ToUpper(n.Cmd), ErrSyntax)
		}
		v, err := word(n.Args[0])
		if err != nil {
			return nil, err
		}
		if n.Cmd == "user" {
			return &step{text: "USER " + v, config: func(cfg *v1.Config) { cfg.User = v }}, nil
		}
		if err := checkSignal(v); err != nil {
			return nil, err
		}
		return &step{text: "STOPSIGNAL " + v, config: func(cfg *v1.Config) { cfg.StopSignal = v }}, nil
	case "workdir":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		if len(n.Args) != 1 {
			return nil, fmt.Errorf("WORKDIR requires exactly one argument: %w", ErrSyntax)
		}
		v, err := word(n.Args[0])
		if err != nil {
			return nil, err
		}
		if !path.IsAbs(v) {
			cur := st.cfg.WorkingDir
			if cur == "" {
				cur = "/"
			}
			v = path.Join(cur, v)
		}
		v = path.Clean(v)
		user := st.cfg.User
		return &step{text: "WORKDIR " + v, config: func(cfg *v1.Config) { cfg.WorkingDir = v },
			fs: func(b *builder, st *state, _ *stepLog) (string, error) {
				return b.withScratch(st, func(rootfs string) error {
					o := owner{}
					if user != "" {
						var err error
						if o, err = resolveOwner(rootfs, user); err != nil {
							return fmt.Errorf("WORKDIR owner %s: %w", user, err)
						}
					}
					_, err := mkdirAll(rootfs, v, o)
					return err
				})
			}}, nil
	case "shell":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		if !n.JSON || len(n.Args) == 0 {
			return nil, fmt.Errorf("SHELL requires the arguments to be in JSON form: %w", ErrSyntax)
		}
		sh := append([]string(nil), n.Args...)
		return &step{text: "SHELL " + jsonText(sh), config: func(cfg *v1.Config) { cfg.Shell = sh }}, nil
	case "cmd", "entrypoint":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		args := append([]string(nil), n.Args...)
		if !n.JSON && len(args) > 0 {
			args = append(append([]string(nil), st.shell()...), args[0])
		}
		text := strings.ToUpper(n.Cmd) + " " + jsonText(args)
		if n.Cmd == "cmd" {
			st.cmdSet = true
			return &step{text: text, config: func(cfg *v1.Config) { cfg.Cmd = args }}, nil
		}
		keepCmd := st.cmdSet
		return &step{text: text, config: func(cfg *v1.Config) {
			cfg.Entrypoint = args
			if !keepCmd {
				cfg.Cmd = nil // Docker: an ENTRYPOINT resets a CMD inherited from the base image
			}
		}}, nil
	case "healthcheck":
		return b.planHealthcheck(st, n)
	case "onbuild":
		if err := b.noFlags(n); err != nil {
			return nil, err
		}
		trigger := n.Args[0]
		return &step{text: "ONBUILD " + trigger, config: func(cfg *v1.Config) {
			cfg.OnBuild = append(cfg.OnBuild[:len(cfg.OnBuild):len(cfg.OnBuild)], trigger)
		}}, nil
	case "copy", "add":
		return b.planCopy(st, n)
	case "run":
		return b.planRun(st, n)
	}
	return nil, fmt.Errorf("instruction %s: %w", strings.ToUpper(n.Cmd), ErrUnsupported)
}

func (b *builder) noFlags(n *Node) error {
	if len(n.Flags) > 0 {
		name, _, _ := strings.Cut(n.Flags[0], "=")
		return fmt.Errorf("%s flag %s: %w", strings.ToUpper(n.Cmd), name, ErrUnsupported)
	}
	return nil
}

// withKeys returns a copy of set with keys added (the parent's config is not modified).
func withKeys(set map[string]struct{}, keys []string) map[string]struct{} {
	out := make(map[string]struct{}, len(set)+len(keys))
	for k := range set {
		out[k] = struct{}{}
	}
	for _, k := range keys {
		out[k] = struct{}{}
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func jsonText(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// normalizePort turns "80", "80/udp" or "8000-8001/tcp" into the config's "port/proto".
func normalizePort(p string) (string, error) {
	port, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", fmt.Errorf("EXPOSE %s: invalid protocol %q: %w", p, proto, ErrSyntax)
	}
	lo, hi, isRange := strings.Cut(port, "-")
	for _, s := range []string{lo, hi} {
		if s == "" && !isRange {
			continue
		}
		if n, err := strconv.Atoi(s); err != nil || n < 0 || n > 65535 {
			return "", fmt.Errorf("EXPOSE %s: invalid port %q: %w", p, s, ErrSyntax)
		}
	}
	return port + "/" + proto, nil
}

// checkSignal accepts a signal number or a name with or without SIG.
func checkSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if _, ok := signalNames[name]; ok || strings.HasPrefix(name, "RTMIN") || strings.HasPrefix(name, "RTMAX") {
		return nil
	}
	return fmt.Errorf("STOPSIGNAL: invalid signal %q: %w", s, ErrSyntax)
}

var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CONT": true, "FPE": true, "HUP": true,
	"ILL": true, "INT": true, "IO": true, "KILL": true, "PIPE": true, "PROF": true, "PWR": true,
	"QUIT": true, "SEGV": true, "STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true,
	"TSTP": true, "TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true,
	"WINCH": true, "XCPU": true, "XFSZ": true,
}

// planHealthcheck reads HEALTHCHECK NONE or HEALTHCHECK [flags] CMD ....
func (b *builder) planHealthcheck(st *state, n *Node) (*step, error) {
	hc := &v1.HealthConfig{}
	if n.Args[0] == "NONE" {
		if len(n.Flags) > 0 {
			return nil, fmt.Errorf("HEALTHCHECK NONE takes no flags: %w", ErrSyntax)
		}
		hc.Test = []string{"NONE"}
	} else {
		for _, fl := range n.Flags {
			name, v, ok := strings.Cut(fl, "=")
			if !ok {
				return nil, fmt.Errorf("HEALTHCHECK flag %s needs a value: %w", name, ErrSyntax)
			}
			switch name {
			case "--interval", "--timeout", "--start-period":
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 {
					return nil, fmt.Errorf("HEALTHCHECK %s=%s: invalid duration: %w", name, v, ErrSyntax)
				}
				switch name {
				case "--interval":
					hc.Interval = d
				case "--timeout":
					hc.Timeout = d
				default:
					hc.StartPeriod = d
				}
			case "--retries":
				r, err := strconv.Atoi(v)
				if err != nil || r < 0 {
					return nil, fmt.Errorf("HEALTHCHECK --retries=%s: %w", v, ErrSyntax)
				}
				hc.Retries = r
			default:
				return nil, fmt.Errorf("HEALTHCHECK flag %s: %w", name, ErrUnsupported)
			}
		}
		if n.JSON {
			hc.Test = append([]string{"CMD"}, n.Args[1:]...)
		} else {
			hc.Test = []string{"CMD-SHELL", n.Args[1]}
		}
	}
	text := "HEALTHCHECK " + jsonText(hc.Test)
	if hc.Interval != 0 || hc.Timeout != 0 || hc.StartPeriod != 0 || hc.Retries != 0 {
		text += fmt.Sprintf(" interval=%s timeout=%s start-period=%s retries=%d", hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries)
	}
	return &step{text: text, config: func(cfg *v1.Config) { cfg.Healthcheck = hc }}, nil
}

// copyFlags are the parsed flags of COPY/ADD.
type copyFlags struct {
	from, chown string
	chmod       *fs.FileMode
	chmodText   string
}

func (b *builder) parseCopyFlags(st *state, n *Node) (copyFlags, error) {
	var cf copyFlags
	for _, fl := range n.Flags {
		name, raw, ok := strings.Cut(fl, "=")
		if name != "--chown" && name != "--chmod" && (name != "--from" || n.Cmd != "copy") {
			return cf, fmt.Errorf("%s flag %s: %w", strings.ToUpper(n.Cmd), name, ErrUnsupported)
		}
		if !ok {
			return cf, fmt.Errorf("%s flag %s needs a value: %w", strings.ToUpper(n.Cmd), name, ErrSyntax)
		}
		v, err := expandWord(raw, b.df.Escape, st.lookup)
		if err != nil {
			return cf, err
		}
		switch {
		case name == "--from" && n.Cmd == "copy":
			cf.from = v
		case name == "--chown":
			cf.chown = v
		case name == "--chmod":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o7777 {
				return cf, fmt.Errorf("--chmod=%s: only octal modes: %w", v, ErrUnsupported)
			}
			mode := fs.FileMode(m) & fs.ModePerm
			mode |= modeBits(int64(m))
			cf.chmod = &mode
			cf.chmodText = v
		}
	}
	return cf, nil
}

// planCopy plans COPY and ADD: sources resolved and hashed now (the hash is part of the
// cache key), files written on a scratch overlay only on a cache miss.
func (b *builder) planCopy(st *state, n *Node) (*step, error) {
	cmd := strings.ToUpper(n.Cmd)
	cf, err := b.parseCopyFlags(st, n)
	if err != nil {
		return nil, err
	}
	var words []string
	for _, a := range n.Args {
		v, err := expandWord(a, b.df.Escape, st.lookup)
		if err != nil {
			return nil, err
		}
		words = append(words, v)
	}
	if len(words) < 2 {
		return nil, fmt.Errorf("%s requires at least two arguments, but got %d: %w", cmd, len(words), ErrSyntax)
	}
	srcs, dest := words[:len(words)-1], words[len(words)-1]
	if !path.IsAbs(dest) {
		wd := st.cfg.WorkingDir
		if wd == "" {
			wd = "/"
		}
		trailing := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
		dest = path.Join(wd, dest)
		if trailing {
			dest += "/"
		}
	}
	destDir := strings.HasSuffix(dest, "/")

	h := sha256.New()
	heredocs := map[string]Heredoc{}
	for _, hd := range n.Heredocs {
		heredocs[hd.Name] = hd
	}
	type resolved struct {
		src     source
		entries []entry
		hdoc    *Heredoc
	}
	var items []resolved
	var fromImg *image.Image
	if cf.from != "" {
		if dep := b.stageByName(cf.from, st.s.index); dep != nil {
			fromImg = dep.result
		} else if fromImg, err = b.image(cf.from); err != nil {
			return nil, fmt.Errorf("COPY --from=%s: %w", cf.from, err)
		}
		fmt.Fprintf(h, "from\x00%s\x00", fromImg.ID)
	}
	for _, s := range srcs {
		if m := reHeredoc().FindStringSubmatch(s); m != nil && len(n.Heredocs) > 0 {
			hd, ok := heredocs[m[4]]
			if !ok {
				return nil, fmt.Errorf("heredoc %s has no body: %w", s, ErrSyntax)
			}
			if hd.Expand {
				if hd.Content, err = expandHeredoc(hd.Content, b.df.Escape, st.lookup); err != nil {
					return nil, err
				}
			}
			fmt.Fprintf(h, "heredoc\x00%s\x00%d\x00%s", hd.Name, len(hd.Content), hd.Content)
			items = append(items, resolved{hdoc: &hd})
			continue
		}
		if isURL(s) {
			return nil, fmt.Errorf("%s from a URL (%s): %w", cmd, s, ErrUnsupported)
		}
		if fromImg != nil {
			// the other image's files are known by its ID; they are read at execution
			items = append(items, resolved{src: source{rel: s}})
			continue
		}
		list, err := b.srcCtx.sources(s)
		if err != nil {
			return nil, err
		}
		for _, src := range list {
			entries, err := b.srcCtx.walk(src)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(h, "src\x00%s\x00", src.rel)
			if err := hashEntries(h, entries); err != nil {
				return nil, err
			}
			items = append(items, resolved{src: src, entries: entries})
		}
	}
	if len(items) > 1 && !destDir {
		return nil, fmt.Errorf("when using %s with more than one source file, the destination must be a directory and end with a /: %w", cmd, ErrSyntax)
	}
	var text strings.Builder
	text.WriteString(cmd)
	if cf.from != "" {
		text.WriteString(" --from=" + cf.from)
	}
	if cf.chown != "" {
		text.WriteString(" --chown=" + cf.chown)
	}
	if cf.chmod != nil {
		fmt.Fprintf(&text, " --chmod=%s", cf.chmodText)
	}
	text.WriteString(" " + strings.Join(srcs, " ") + " " + dest)
	isAdd := n.Cmd == "add"
	return &step{text: text.String(), digest: hex.EncodeToString(h.Sum(nil)), fs: func(b *builder, st *state, _ *stepLog) (string, error) {
		var src *srcFS
		var fromFS *scratchFS
		if fromImg != nil {
			sfs, err := mountScratch(b.opts.Root, fromImg.LowerDirs())
			if err != nil {
				return "", err
			}
			defer sfs.Close()
			fromFS = sfs
			src = &srcFS{root: sfs.merged}
		}
		return b.withScratch(st, func(rootfs string) error {
			o := copyOpts{chmod: cf.chmod}
			if cf.chown != "" {
				own, err := resolveOwner(rootfs, cf.chown)
				if err != nil {
					return fmt.Errorf("--chown=%s: %w", cf.chown, err)
				}
				o.owner = &own
			}
			for _, it := range items {
				if it.hdoc != nil {
					target := dest
					if destDir {
						target = path.Join(dest, it.hdoc.Name)
					}
					if err := writeHeredocFile(rootfs, target, it.hdoc.Content, o); err != nil {
						return err
					}
					continue
				}
				list := []resolved{it}
				if fromFS != nil {
					srcList, err := src.sources(it.src.rel)
					if err != nil {
						return err
					}
					list = nil
					for _, s := range srcList {
						entries, err := src.walk(s)
						if err != nil {
							return err
						}
						list = append(list, resolved{src: s, entries: entries})
					}
					if len(list) > 1 && !destDir {
						return fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /: %w", ErrSyntax)
					}
				}
				for _, r := range list {
					if err := copySource(rootfs, dest, destDir, r.src, r.entries, isAdd, o); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}}, nil
}

// copySource writes one resolved source at dest following Docker's rules: a directory's
// contents go into dest; ADD extracts a local tar archive into dest; a file goes to
// dest/<name> when dest ends in / or is a directory in the image, else to dest itself.
func copySource(rootfs, dest string, destDir bool, src source, entries []entry, isAdd bool, o copyOpts) error {
	if src.info.IsDir() {
		return copyEntries(rootfs, dest, entries, o)
	}
	if isAdd {
		ok, err := isArchive(src.abs)
		if err != nil {
			return err
		}
		if ok {
			return extractArchive(rootfs, dest, src.abs, o)
		}
	}
	target := dest
	if destDir || isDir(rootfs, dest) {
		target = path.Join(dest, path.Base(src.rel))
	}
	// the source itself is followed when it is a symlink, as Docker does
	top := entry{rel: ".", abs: src.abs, info: src.info}
	return copyEntries(rootfs, target, []entry{top}, o)
}

// writeHeredocFile writes a COPY <<EOF file (mode 0644 unless --chmod).
func writeHeredocFile(rootfs, target, content string, o copyOpts) error {
	own := owner{}
	if o.owner != nil {
		own = *o.owner
	}
	if _, err := mkdirAll(rootfs, path.Dir(target), own); err != nil {
		return err
	}
	hp, err := hostPath(rootfs, target)
	if err != nil {
		return err
	}
	if _, err := clearFor(hp, false); err != nil {
		return err
	}
	if err := writeFile(hp, strings.NewReader(content)); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	perm := fs.FileMode(0o644)
	if o.chmod != nil {
		perm = *o.chmod
	}
	return setMeta(hp, own, perm, time.Now())
}

// expandHeredoc substitutes variables in an unquoted heredoc body as a shell does in a
// here-document: only $ is special; quotes are text; the escape character before $ or
// itself makes that character literal.
func expandHeredoc(content string, escape rune, lookup lookupFunc) (string, error) {
	l := &lexer{src: []rune(content), escape: escape, lookup: lookup}
	var out strings.Builder
	for !l.eof() {
		ch := l.next()
		switch {
		case ch == escape && (l.peek() == '$' || l.peek() == escape):
			out.WriteRune(l.next())
		case ch == '$':
			v, err := l.dollar()
			if err != nil {
				return "", err
			}
			out.WriteString(v)
		default:
			out.WriteRune(ch)
		}
	}
	return out.String(), nil
}

func isURL(s string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
