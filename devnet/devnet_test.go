package devnet

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
)

func TestChainIsDeterministicAndSigned(t *testing.T) {
	cfg := Config{Seed: "s1", Blocks: 600, TipRefTime: 1_800_000_000}
	a, _ := New(cfg)
	b, _ := New(cfg)
	ca, err := a.Chain()
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Chain()
	if ca[599].Hash() != cb[599].Hash() {
		t.Fatal("same seed gave different chains")
	}
	other, _ := New(Config{Seed: "s2", Blocks: 600, TipRefTime: 1_800_000_000})
	co, _ := other.Chain()
	if co[599].Hash() == ca[599].Hash() {
		t.Fatal("different seeds gave the same chain")
	}
	for i, blk := range ca {
		if i > 0 && blk.Header.PrevHash != ca[i-1].Hash() {
			t.Fatalf("block %d does not link to its parent", blk.Height())
		}
		// Every signature recovers to the member of the committee the doc
		// names for the parent's reference time that the proof names.
		c := a.Committee(blk.Height())
		d := blk.SigningDigest()
		for i := range blk.Proof {
			named, sig := blk.Entry(i)
			pub, err := crypto.SigToPub(d[:], sig)
			if err != nil {
				t.Fatal(err)
			}
			signer := crypto.PubkeyToAddress(*pub)
			if _, ok := c.Lookup(signer); !ok || signer != named {
				t.Fatalf("block %d: signature %d by %s, named %s", blk.Height(), i, signer.Hex(), named.Hex())
			}
		}
	}
}

func TestCommitteeRotatesAndDocAgrees(t *testing.T) {
	n, _ := New(Config{Seed: "rot", Blocks: 1000, RotateEvery: 250, TipRefTime: 1_800_000_000})
	src, err := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Committee(1).Members[0].NodeAddress == n.Committee(900).Members[0].NodeAddress {
		t.Fatal("committee did not rotate")
	}
	ctx := context.Background()
	for h := uint64(1); h <= n.Blocks; h++ {
		want := n.Committee(h)
		got, err := src.CommitteeAt(ctx, n.RefTime(h-1))
		if err != nil {
			t.Fatal(err)
		}
		if got.RefTime != want.RefTime || len(got.Members) != len(want.Members) || got.TotalWeight().Cmp(want.TotalWeight()) != 0 {
			t.Fatalf("block %d: doc committee %d/%v, devnet %d/%v", h, got.RefTime, got.TotalWeight(), want.RefTime, want.TotalWeight())
		}
		for i := range want.Members {
			if got.Members[i].NodeAddress != want.Members[i].NodeAddress || got.Members[i].Weight.Cmp(want.Members[i].Weight) != 0 {
				t.Fatalf("block %d member %d differs", h, i)
			}
		}
	}
}

func TestGenerateWithGap(t *testing.T) {
	n, _ := New(Config{Seed: "gap", Blocks: 300})
	dir := t.TempDir()
	files, _, err := n.Generate(dir, []store.Range{{From: 1, To: 100}, {From: 201, To: 300}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(files.Store, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _ := s.State()
	if st.InOrder != 100 || st.LastSynced != 201 || st.Top != 300 {
		t.Fatalf("indices %+v", st)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files.Management)
	if err != nil {
		t.Fatal(err)
	}
	var doc mgmt.ManagementDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.NewDocSource(&doc, n.ChainID); err != nil {
		t.Fatalf("written document does not validate: %v", err)
	}

	if _, _, err := n.Generate(filepath.Join(dir, "bad"), []store.Range{{From: 5, To: 10}, {From: 20, To: 30}}); err == nil {
		t.Fatal("two ranges not starting at 1 were accepted")
	}
}
