package main

import "github.com/spf13/cobra"

func newImageTagCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := openImageStore()
			if err != nil {
				return err
			}
			return s.Tag(args[0], args[1])
		},
	}
}
