package main

import "github.com/spf13/cobra"

// addCompletionCommand adds cobra's completion command (bash, zsh, fish,
// powershell) now rather than at execution, so that an unknown shell is a
// usage error instead of cobra's help and a zero exit code.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Args = usageArgs(cobra.NoArgs)
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
}
