// Package countio counts the bytes that pass through a reader or a writer:
// where an export stream's next frame starts, how large a file written was,
// whether a command wrote anything to stdout.
package countio

import "io"

// Reader counts the bytes read through it.
type Reader struct {
	R io.Reader
	N int64
}

func (c *Reader) Read(b []byte) (int, error) {
	n, err := c.R.Read(b)
	c.N += int64(n)
	return n, err
}

// Writer counts the bytes written through it.
type Writer struct {
	W io.Writer
	N int64
}

func (c *Writer) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
