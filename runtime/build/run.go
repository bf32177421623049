package build

import "fmt"

// planRun plans a RUN step. RUN needs stack's container runtime, which this build of
// the package does not have yet.
func (b *builder) planRun(_ *state, _ *Node) (*step, error) {
	return nil, fmt.Errorf("RUN (the container runtime is not available yet): %w", ErrUnsupported)
}
