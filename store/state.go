package store

import (
	"github.com/vcsync/vcsync/chain"
)

// State is the store's sync progress (InOrder, LastSynced, Top; package
// chain defines it and its rules of reading).
type State = chain.State

// Range is an inclusive range of heights, From <= To.
type Range = chain.Range
