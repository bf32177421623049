package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime/image"
)

type imagePullOptions struct {
	insecure bool
	platform string
	quiet    bool
}

func newImagePullCmd() *cobra.Command {
	var o imagePullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: "Download an image from a registry. Credentials come from ~/.docker/config.json\n" +
			"($DOCKER_CONFIG) and its credential helpers; registries on localhost and 127.0.0.1\n" +
			"are reached over plain HTTP.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImagePull(cmd.Context(), cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP and unverified TLS for this registry")
	f.StringVar(&o.platform, "platform", "", "platform to select from a multi-platform image (os/arch[/variant])")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the image reference when done")
	return cmd
}

func runImagePull(ctx context.Context, cmd *cobra.Command, ref string, o imagePullOptions) error {
	opts := image.PullOptions{Insecure: o.insecure}
	if o.platform != "" {
		p, err := v1.ParsePlatform(o.platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/amd64", o.platform)
		}
		opts.Platform = p
	}
	r, err := image.ParseReference(ref)
	if err != nil {
		return err
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	progress := newPullProgress(out)
	if !o.quiet {
		fmt.Fprintf(out, "%s: Pulling from %s\n", r.Identifier(), r.Context().RepositoryStr())
		opts.Progress = progress.update
	}
	img, err := s.Pull(ctx, ref, opts)
	if err != nil {
		return err
	}
	if !o.quiet {
		repo := image.RepositoryName(r.Context())
		for _, d := range img.RepoDigests {
			if strings.HasPrefix(d, repo+"@") {
				fmt.Fprintf(out, "Digest: %s\n", strings.TrimPrefix(d, repo+"@"))
			}
		}
		if progress.downloaded {
			fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", image.Canonical(r))
		} else {
			fmt.Fprintf(out, "Status: Image is up to date for %s\n", image.Canonical(r))
		}
	}
	fmt.Fprintln(out, image.Canonical(r))
	return nil
}

// pullProgress renders layer progress: on a terminal, one line per layer redrawn in place
// with a bar; otherwise a plain line each time a layer changes state.
type pullProgress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	order  []v1.Hash
	state  map[v1.Hash]image.Progress
	drawn  int
	last   time.Time
	status map[v1.Hash]string // plain mode: last status printed
	// downloaded: some layer was downloaded (not all were in the store already).
	downloaded bool
}

func newPullProgress(w io.Writer) *pullProgress {
	f, ok := w.(*os.File)
	return &pullProgress{w: w, tty: ok && isTerminal(f), state: map[v1.Hash]image.Progress{}, status: map[v1.Hash]string{}}
}

func (p *pullProgress) update(ev image.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.state[ev.Layer]; !ok {
		p.order = append(p.order, ev.Layer)
	}
	p.state[ev.Layer] = ev
	if ev.Status == image.StatusComplete {
		p.downloaded = true
	}
	if !p.tty {
		if p.status[ev.Layer] == ev.Status {
			return
		}
		p.status[ev.Layer] = ev.Status
		line := fmt.Sprintf("%s: %s", shortDigest(ev.Layer), ev.Status)
		if ev.Status == image.StatusRetrying && ev.Err != nil {
			line += ": " + ev.Err.Error()
		}
		if ev.Status == image.StatusComplete {
			line += " (" + humanSize(ev.Total) + ")"
		}
		fmt.Fprintln(p.w, line)
		return
	}
	final := ev.Status == image.StatusComplete || ev.Status == image.StatusExists
	if !final && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn) // back to the first layer line
	}
	for _, h := range p.order {
		fmt.Fprintf(p.w, "\x1b[2K%s\n", progressLine(p.state[h]))
	}
	p.drawn = len(p.order)
}

func progressLine(ev image.Progress) string {
	line := fmt.Sprintf("%s: %-15s", shortDigest(ev.Layer), ev.Status)
	if ev.Status == image.StatusDownloading && ev.Total > 0 {
		const width = 40
		done := int(ev.Current * width / ev.Total)
		if done > width {
			done = width
		}
		bar := strings.Repeat("=", done)
		if done < width {
			bar += ">" + strings.Repeat(" ", width-done-1)
		}
		line += fmt.Sprintf(" [%s] %8s/%s", bar, humanSize(ev.Current), humanSize(ev.Total))
	}
	return line
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}
