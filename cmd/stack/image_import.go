package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

type imageImportOptions struct {
	changes []string
}

func newImageImportCmd() *cobra.Command {
	var o imageImportOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] TARBALL|- [NAME[:TAG]]",
		Short: "Make a one-layer image from a root filesystem tarball (plain, gzip, bzip2 or zstd)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			return runImageImport(cmd.Context(), cmd, args[0], ref, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.changes, "change", "c", nil, "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL)")
	return cmd
}

func runImageImport(ctx context.Context, cmd *cobra.Command, src, ref string, o imageImportOptions) error {
	var r io.Reader = cmd.InOrStdin()
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	img, err := s.Import(ctx, r, ref, o.changes)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), img.ID)
	return err
}
