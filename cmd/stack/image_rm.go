package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
)

type imageRmOptions struct {
	force bool
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
		rep, err := s.Remove(ref, image.RemoveOptions{Force: o.force, InUse: inUse})
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
			}
			fmt.Fprintf(errw, "stack: %v%s\n", err, hint)
		}
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// imagesInUse returns the test rm and prune use: whether any container in the store,
// running or not, was made from the image. A container created after the listing is not
// seen; `stack container create` of an image being removed can race with it.
func imagesInUse() (func(id string) bool, error) {
	m, err := runtime.New(global.root)
	if err != nil {
		return nil, err
	}
	cs, err := m.List(runtime.ListOptions{All: true})
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range cs {
		used[c.ImageID] = true
	}
	return func(id string) bool { return used[id] }, nil
}

type imagePruneOptions struct {
	all   bool
	force bool
}

func newImagePruneCmd() *cobra.Command {
	var o imagePruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove untagged images (with -a: all images no container uses)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImagePrune(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.all, "all", "a", false, "remove all images no container uses, not only untagged ones")
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "do not ask for confirmation")
	return cmd
}

func runImagePrune(in io.Reader, w io.Writer, o imagePruneOptions) error {
	if !o.force {
		what := "all dangling images"
		if o.all {
			what = "all images without at least one container associated to them"
		}
		fmt.Fprintf(w, "WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", what)
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
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
	if len(rep.Deleted) > 0 {
		fmt.Fprintln(w, "Deleted Images:")
		for _, d := range rep.Deleted {
			fmt.Fprintf(w, "deleted: %s\n", d)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", humanSize(rep.Reclaimed))
	return err
}
