// Package build turns a Dockerfile and its context into an image of the store, as
// `docker build` does, with a layer cache. COPY, ADD and WORKDIR write through a scratch
// overlay of the image so far (fs.go); RUN runs in a container of stack's runtime
// (run.go); both end as the overlay's upper directory written out as a layer tar.
//
// A build parses the Dockerfile (our own parser, proven on buildkit's cases), resolves the
// ARGs before the first FROM, picks the target stage and the stages it needs (FROM <stage>,
// COPY --from=<stage>; the others are not built) and runs each needed stage's
// instructions in order. Every instruction yields an image of the store whose parent is
// the previous one: filesystem steps (COPY, ADD, RUN, WORKDIR creating a directory) add one
// layer, metadata steps only change the config and add a history entry with empty_layer.
// Each such step is keyed for the cache (see cache.go); a hit reuses the stored image
// without running anything, so a rebuild with nothing changed reads the Dockerfile, hashes
// the copied files and touches nothing else.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
)

// Options of one build.
type Options struct {
	Root       string            // store root: the cache lives in <Root>/build-cache
	Store      *image.Store      // image store the base images come from and results go to
	Runtime    *runtime.Manager  // runs RUN steps in containers; nil makes RUN an error
	Network    string            // network RUN steps join (needs Runtime.Network); "": loopback only
	ContextDir string            // build context
	Dockerfile string            // path of the Dockerfile; "" is <ContextDir>/Dockerfile
	Args       map[string]string // --build-arg values
	Target     string            // stage to build; "" is the last
	Tags       []string          // references to give the result
	Labels     map[string]string // --label, added to the result's config
	NoCache    bool              // run every step, reuse nothing
	Progress   io.Writer         // where step output goes; nil is silent
	Mode       ProgressMode      // plain (the default), tty or quiet
}

// builder holds one build's state.
type builder struct {
	opts     Options
	ctx      context.Context
	df       *Dockerfile
	dfName   string
	srcCtx   *srcFS
	prog     *progress
	metaArgs map[string]string // ARGs before the first FROM, with their values
	argsUsed map[string]bool   // --build-arg names some ARG declared
	stages   []*stage
	multi    bool // several stages: step labels name the stage

}

// stage is one FROM section.
type stage struct {
	index  int
	name   string // AS name, lower case; "" when unnamed
	from   *Node
	nodes  []*Node
	needed bool
	result *image.Image
}

func (s *stage) label(multi bool) string {
	if !multi {
		return ""
	}
	if s.name != "" {
		return s.name + " "
	}
	return fmt.Sprintf("stage-%d ", s.index)
}

// Build runs a build and returns the image of the target stage, tagged with opts.Tags.
func Build(ctx context.Context, opts Options) (*image.Image, error) {
	if opts.Dockerfile == "" {
		opts.Dockerfile = filepath.Join(opts.ContextDir, "Dockerfile")
	}
	b := &builder{opts: opts, ctx: ctx, dfName: filepath.Base(opts.Dockerfile), prog: newProgress(opts.Progress, opts.Mode), argsUsed: map[string]bool{}}
	f, err := os.Open(opts.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("open dockerfile: %w", err)
	}
	b.df, err = Parse(f)
	f.Close()
	if err != nil {
		var le *lineErr
		if errors.As(err, &le) {
			return nil, &LineError{File: b.dfName, Line: le.line, Err: le.err}
		}
		return nil, err
	}
	if b.srcCtx, err = openContext(opts.ContextDir, opts.Dockerfile); err != nil {
		return nil, err
	}
	if err := b.planStages(); err != nil {
		return nil, err
	}
	// Until the result is tagged, each step's image is a dangling leaf: keep a concurrent
	// `stack image prune` from deleting its layers under the next step.
	release, err := opts.Store.Hold()
	if err != nil {
		return nil, err
	}
	defer release()
	var target *stage
	for _, s := range b.stages {
		if !s.needed {
			continue
		}
		if err := b.runStage(s); err != nil {
			return nil, err
		}
		target = s
	}
	return b.finish(target)
}

// lineErr wraps err with the node's Dockerfile location.
func (b *builder) lineErr(n *Node, err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return err
	}
	return &LineError{File: b.dfName, Line: n.StartLine, Err: err}
}

// planStages splits the nodes into meta ARGs and stages and marks the stages the target
// needs.
func (b *builder) planStages() error {
	b.metaArgs = map[string]string{}
	for k, v := range platformArgs() {
		b.metaArgs[k] = v
	}
	var cur *stage
	for _, n := range b.df.Nodes {
		if n.Cmd == "from" {
			cur = &stage{index: len(b.stages), from: n}
			args := n.Args
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				cur.name = strings.ToLower(args[2])
			} else if len(args) != 1 {
				return b.lineErr(n, fmt.Errorf("FROM requires an image and optionally AS <name>: %w", ErrSyntax))
			}
			b.stages = append(b.stages, cur)
			continue
		}
		if cur == nil {
			if n.Cmd != "arg" {
				return b.lineErr(n, fmt.Errorf("%s before the first FROM: only ARG may precede it: %w", strings.ToUpper(n.Cmd), ErrSyntax))
			}
			if err := b.declareArgs(n, b.metaArgs, nil, b.lookupIn(b.metaArgs)); err != nil {
				return b.lineErr(n, err)
			}
			continue
		}
		cur.nodes = append(cur.nodes, n)
	}
	if len(b.stages) == 0 {
		return &LineError{File: b.dfName, Line: 1, Err: fmt.Errorf("no FROM instruction: %w", ErrSyntax)}
	}
	b.multi = len(b.stages) > 1
	target := b.stages[len(b.stages)-1]
	if b.opts.Target != "" {
		target = b.stageByName(b.opts.Target, len(b.stages))
		if target == nil {
			return fmt.Errorf("target %q: %w", b.opts.Target, ErrUnknownStage)
		}
	}
	return b.markNeeded(target)
}

// stageByName finds a stage by name or index among the first `before` stages.
func (b *builder) stageByName(ref string, before int) *stage {
	ref = strings.ToLower(ref)
	for _, s := range b.stages[:before] {
		if s.name == ref {
			return s
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < before {
		return b.stages[i]
	}
	return nil
}

// markNeeded marks s and, recursively, the stages it reads from.
func (b *builder) markNeeded(s *stage) error {
	if s.needed {
		return nil
	}
	s.needed = true
	base, err := b.baseName(s)
	if err != nil {
		return err
	}
	if dep := b.stageByNameOnly(base, s.index); dep != nil {
		if err := b.markNeeded(dep); err != nil {
			return err
		}
	}
	for _, n := range s.nodes {
		if n.Cmd != "copy" {
			continue
		}
		for _, fl := range n.Flags {
			v, ok := strings.CutPrefix(fl, "--from=")
			if !ok {
				continue
			}
			v, err := expandWord(v, b.df.Escape, b.lookupIn(b.metaArgs))
			if err != nil {
				return b.lineErr(n, err)
			}
			if dep := b.stageByName(v, s.index); dep != nil {
				if err := b.markNeeded(dep); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stageByNameOnly finds an earlier stage by name (FROM does not take indexes).
func (b *builder) stageByNameOnly(name string, before int) *stage {
	name = strings.ToLower(name)
	for _, s := range b.stages[:before] {
		if s.name == name {
			return s
		}
	}
	return nil
}

// baseName is the FROM image of s, meta ARGs substituted.
func (b *builder) baseName(s *stage) (string, error) {
	name, err := expandWord(s.from.Args[0], b.df.Escape, b.lookupIn(b.metaArgs))
	if err != nil {
		return "", b.lineErr(s.from, err)
	}
	if name == "" {
		return "", b.lineErr(s.from, fmt.Errorf("FROM: base name (%s) should not be blank: %w", s.from.Args[0], ErrSyntax))
	}
	return name, nil
}

func (b *builder) lookupIn(m map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// platformArgs are buildkit's automatic platform ARGs: available to FROM, and inside a
// stage once declared with ARG.
func platformArgs() map[string]string {
	return map[string]string{
		"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
	}
}

// declareArgs applies an ARG instruction: each name gets its --build-arg value, else its
// default (substituted with lookup), else the meta ARG of that name when inherit is set.
func (b *builder) declareArgs(n *Node, into map[string]string, inherit map[string]string, lookup lookupFunc) error {
	for _, w := range n.Args {
		name, def, hasDef := strings.Cut(w, "=")
		if name == "" {
			return fmt.Errorf("ARG requires a name: %w", ErrSyntax)
		}
		if hasDef {
			v, err := expandWord(def, b.df.Escape, lookup)
			if err != nil {
				return err
			}
			def = v
		}
		v, ok := b.opts.Args[name]
		switch {
		case ok:
			b.argsUsed[name] = true
		case hasDef:
			v, ok = def, true
		case inherit != nil:
			v, ok = inherit[name]
		}
		if ok {
			into[name] = v
		} else {
			delete(into, name)
		}
	}
	return nil
}

// finish tags the target's image and reports it.
func (b *builder) finish(target *stage) (*image.Image, error) {
	step := b.prog.step("exporting to image")
	img := target.result
	var unused []string
	for k := range b.opts.Args {
		if !b.argsUsed[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		step.note("[Warning] One or more build-args %v were not consumed", unused)
	}
	step.note("writing image %s done", img.ID)
	for _, t := range b.opts.Tags {
		if err := b.opts.Store.Tag(img.ID, t); err != nil {
			step.fail(err)
			return nil, fmt.Errorf("tag %s: %w", t, err)
		}
		step.note("naming to %s done", t)
	}
	step.done()
	return img, nil
}

// historyNow is the Created time of history entries and configs.
func historyNow() v1.Time { return v1.Time{Time: time.Now().UTC()} }
