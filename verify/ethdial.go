package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// maxRPCResponse bounds one answer from the Ethereum endpoint: a page of
// logs is well under a MiB, so 32 MiB is room, and a hostile or broken
// endpoint cannot make vcsync read without end. (go-ethereum's client
// bounds what its server reads, not what its client does.)
const maxRPCResponse = 32 << 20

// DialEthereum connects to an Ethereum JSON-RPC endpoint with the limits
// vcsync puts on every untrusted input: bounded answers, no redirects.
func DialEthereum(ctx context.Context, url string) (*ethclient.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{
		Transport: boundedTransport{transport},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("the Ethereum endpoint redirected to %s: refused", req.URL.Redacted())
		},
	}
	c, err := rpc.DialOptions(ctx, url, rpc.WithHTTPClient(client))
	if err != nil {
		return nil, err
	}
	return ethclient.NewClient(c), nil
}

// boundedTransport cuts every response body at maxRPCResponse bytes.
type boundedTransport struct{ http.RoundTripper }

func (t boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: maxRPCResponse}
	return resp, nil
}

var errRPCTooLarge = errors.New("the Ethereum endpoint's answer is over 32 MiB")

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errRPCTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
