package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Rename gives a container a new name, as `docker rename` does. The reconciler uses it to
// swap a recreated container into its replica's name once the old one is gone.
//
// Order, so that a crash at any point leaves a state the next command repairs:
//
//  1. reserve by-name/<new>  (the name is taken; a crash here leaves a link whose owner
//     does not carry that name, which reserveName takes over)
//  2. save the state with the new name
//  3. remove by-name/<old>   (a crash before this leaves an old link whose owner no longer
//     carries that name: also taken over by the next reservation)
func (m *Manager) Rename(_ context.Context, idOrName, name string) error {
	if !validName(name) {
		return fmt.Errorf("%w: name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ErrInvalidSpec, name)
	}
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return err
	}
	defer unlock()
	old := c.Name
	if old == name {
		return nil
	}
	c.Spec.Name = name
	if err := m.reserveName(c, false); err != nil {
		return err
	}
	if err := c.save(); err != nil {
		os.Remove(filepath.Join(m.dir, "by-name", name))
		return err
	}
	if err := os.Remove(filepath.Join(m.dir, "by-name", old)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("rename %s: release old name: %w", old, err)
	}
	return nil
}
