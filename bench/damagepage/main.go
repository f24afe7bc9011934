// Command damagepage overwrites part of one leaf page of a bbolt file (the
// leaf page nearest the file's middle), as a failing disk sector would, for
// bench/scale.sh's repair measurement. It prints the page id it damaged.
//
//	go run ./bench/damagepage FILE
package main

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: damagepage FILE")
		os.Exit(2)
	}
	path := os.Args[1]
	// Read-write: bbolt describes pages only with its freelist loaded.
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		fail(err)
	}
	pageSize := db.Info().PageSize
	var victim int
	err = db.View(func(tx *bolt.Tx) error {
		pages := int(tx.Size()) / pageSize
		for id := pages / 2; id < pages; id++ {
			if p, err := tx.Page(id); err == nil && p != nil && p.Type == "leaf" && p.Count > 0 {
				victim = id
				return nil
			}
		}
		return fmt.Errorf("no leaf page past the middle of %s", path)
	})
	db.Close()
	if err != nil {
		fail(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		fail(err)
	}
	junk := make([]byte, 256)
	for i := range junk {
		junk[i] = 0xA5
	}
	// Past the page header and the first element headers: into the data.
	if _, err := f.WriteAt(junk, int64(victim)*int64(pageSize)+512); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
	fmt.Println(victim)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "damagepage:", err)
	os.Exit(1)
}
