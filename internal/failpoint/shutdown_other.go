//go:build !linux

package failpoint

import "errors"

func shutdown(string) error { return errors.New("a filesystem shutdown needs Linux") }

// Shutdown is shutdown for tests that cut the power themselves.
func Shutdown(dir string) error { return shutdown(dir) }
