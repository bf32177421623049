package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

type imageLoadOptions struct {
	input string
	quiet bool
}

func newImageLoadCmd() *cobra.Command {
	var o imageLoadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a docker-save or OCI layout archive (file or standard input)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImageLoad(cmd.Context(), cmd, o)
		},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "read from this archive instead of standard input")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print only the loaded image IDs")
	return cmd
}

func runImageLoad(ctx context.Context, cmd *cobra.Command, o imageLoadOptions) error {
	var r io.Reader = cmd.InOrStdin()
	if o.input != "" {
		f, err := os.Open(o.input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	} else if f, ok := r.(*os.File); ok && isTerminal(f) {
		return fmt.Errorf("standard input is a terminal: give an archive with -i/--input or pipe one in")
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	imgs, err := s.Load(ctx, r)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	for _, img := range imgs {
		switch {
		case o.quiet:
			fmt.Fprintln(out, img.ID)
		case len(img.RepoTags) == 0:
			fmt.Fprintf(out, "Loaded image ID: %s\n", img.ID)
		default:
			for _, t := range img.RepoTags {
				fmt.Fprintf(out, "Loaded image: %s\n", t)
			}
		}
	}
	return nil
}
