package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime/build"
	"github.com/stackhq/stack/runtime/image"
)

type imageRmOptions struct {
	force   bool
	noPrune bool
}

func newImageRmCmd() *cobra.Command {
	var o imageRmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove images (layers no other image needs go too)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageRm(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, o)
		},
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "remove an image with several tags by ID; untag an image a container uses")
	cmd.Flags().BoolVar(&o.noPrune, "no-prune", false, "do not delete untagged parents (the steps of a build)")
	return cmd
}

func runImageRm(w, errw io.Writer, refs []string, o imageRmOptions) error {
	s, err := openImageStore()
	if err != nil {
		return err
	}
	inUse, err := imagesInUse()
	if err != nil {
		return err
	}
	failed := 0
	for _, ref := range refs {
		rep, err := s.Remove(ref, image.RemoveOptions{Force: o.force, NoPrune: o.noPrune, InUse: inUse})
		for _, u := range rep.Untagged {
			fmt.Fprintf(w, "Untagged: %s\n", u)
		}
		for _, d := range rep.Deleted {
			fmt.Fprintf(w, "Deleted: %s\n", d)
		}
		if err != nil {
			failed++
			hint := ""
			switch {
			case errors.Is(err, image.ErrInUse):
				hint = " (remove the container first, or use -f to untag it)"
			case errors.Is(err, image.ErrMultipleReferences):
				hint = " (remove it by tag, or use -f)"
			case errors.Is(err, image.ErrHasChildren):
				hint = " (remove the images made from it first)"
			}
			fmt.Fprintf(errw, "stack: %v%s\n", err, hint)
		}
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// confirmPrune asks, as Docker's prune commands do without -f, whether to remove what;
// only "y" or "yes" goes on (a closed input does not).
func confirmPrune(in io.Reader, w io.Writer, what string) bool {
	fmt.Fprintf(w, "WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", what)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}

type imagePruneOptions struct {
	all   bool
	force bool
}

func newImagePruneCmd() *cobra.Command {
	var o imagePruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove dangling images (with -a: all images no container uses) and their build cache entries",
		Long: `Remove dangling images: untagged images that are not the parent of another image.
With -a, remove every image no container uses. An image a container uses is never
removed, nor are the images it was made from. The build cache entries of removed images
go too (the cache follows the images, as Docker's classic builder cache does); use
'stack image build --no-cache' to rebuild without it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImagePrune(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.all, "all", "a", false, "remove all images no container uses, not only dangling ones")
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "do not ask for confirmation")
	return cmd
}

func runImagePrune(in io.Reader, w io.Writer, o imagePruneOptions) error {
	what := "all dangling images"
	if o.all {
		what = "all images without at least one container associated to them"
	}
	if !o.force && !confirmPrune(in, w, what) {
		return nil
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	inUse, err := imagesInUse()
	if err != nil {
		return err
	}
	rep, err := s.Prune(image.PruneOptions{All: o.all, InUse: inUse})
	var keys []string
	if err == nil {
		keys, err = build.PruneCache(global.root, func(id string) bool {
			_, err := s.Get(id)
			return !errors.Is(err, image.ErrNotFound)
		})
	}
	if len(rep.Untagged) > 0 || len(rep.Deleted) > 0 {
		fmt.Fprintln(w, "Deleted Images:")
		for _, u := range rep.Untagged {
			fmt.Fprintf(w, "untagged: %s\n", u)
		}
		for _, d := range rep.Deleted {
			fmt.Fprintf(w, "deleted: %s\n", d)
		}
		fmt.Fprintln(w)
	}
	if len(keys) > 0 {
		fmt.Fprintln(w, "Deleted build cache objects:")
		for _, k := range keys {
			fmt.Fprintln(w, k)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", humanSize(rep.Reclaimed))
	return err
}

// imagesInUse tells which images containers of the root use, running or not: rm and prune
// keep those. A container created after the listing is not seen.
func imagesInUse() (func(id string) bool, error) {
	e, err := openEngine()
	if err != nil {
		return nil, err
	}
	return e.ImagesInUse()
}
