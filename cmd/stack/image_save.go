package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

type imageSaveOptions struct {
	output string
}

func newImageSaveCmd() *cobra.Command {
	var o imageSaveOptions
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Write images to an archive that docker load, podman load and skopeo accept",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageSave(cmd.Context(), cmd, args, o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func runImageSave(ctx context.Context, cmd *cobra.Command, refs []string, o imageSaveOptions) (retErr error) {
	s, err := openImageStore()
	if err != nil {
		return err
	}
	var w io.Writer = cmd.OutOrStdout()
	if o.output == "" {
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			return fmt.Errorf("refusing to write an archive to a terminal: use -o/--output or redirect standard output")
		}
		return s.Save(ctx, w, refs)
	}
	// Write beside the target and rename, so a failed save leaves no partial archive.
	f, err := os.CreateTemp(filepath.Dir(o.output), "."+filepath.Base(o.output)+".*")
	if err != nil {
		return fmt.Errorf("--output %s: %w", o.output, err)
	}
	defer func() {
		if retErr != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := s.Save(ctx, f, refs); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), o.output)
}
