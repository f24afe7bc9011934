package ethpos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// maxRPCResponse bounds one answer from the Ethereum endpoint: a page of
// logs is well under a MiB, so 32 MiB is room, and a hostile or broken
// endpoint cannot make vcsync read without end. (go-ethereum's client
// bounds what its server reads, not what its client does.)
const maxRPCResponse = 32 << 20

// EthLimits are how vcsync paces and retries its calls to an Ethereum
// endpoint. Public providers answer bursts with 429 (or a transient 502,
// 503, 504, or a JSON-RPC error saying a rate limit was hit), and
// go-ethereum's client does not retry.
type EthLimits struct {
	// RPS paces calls with a token bucket (0: DefaultEthRPS).
	RPS float64
	// Timeout bounds one call, its retries included (0: DefaultEthTimeout).
	Timeout time.Duration
	// OnRetry, if set, hears of each retry: the count so far and why.
	OnRetry func(retries int64, why string)
	// Backoff is the first retry's wait, doubling to 32 times it, each with
	// up to half again as jitter (0: 500 ms).
	Backoff time.Duration
}

// Defaults for EthLimits: 10 calls a second is under the free tiers of
// the hosted providers; a minute of retrying outlasts their bursts.
const (
	DefaultEthRPS     = 10
	DefaultEthTimeout = time.Minute
)

// EthClient is an Ethereum client with the count of calls it retried.
type EthClient struct {
	*ethclient.Client
	retry *retryTransport
}

// Retries is how many answers were "busy" and retried.
func (c *EthClient) Retries() int64 { return c.retry.retries.Load() }

// Calls is how many JSON-RPC calls went to the endpoint, by method
// (retries included: each is a call the provider counts).
func (c *EthClient) Calls() map[string]int64 {
	c.retry.mu.Lock()
	defer c.retry.mu.Unlock()
	out := make(map[string]int64, len(c.retry.calls))
	for m, n := range c.retry.calls {
		out[m] = n
	}
	return out
}

// DialEthereum connects to an Ethereum JSON-RPC endpoint with the limits
// vcsync puts on every untrusted input (bounded answers, no redirects),
// paced and retried as limits says.
func DialEthereum(ctx context.Context, url string, limits EthLimits) (*EthClient, error) {
	if limits.RPS <= 0 {
		limits.RPS = DefaultEthRPS
	}
	if limits.Timeout <= 0 {
		limits.Timeout = DefaultEthTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if limits.Backoff <= 0 {
		limits.Backoff = ethBackoffBase
	}
	retry := &retryTransport{next: boundedTransport{transport}, limiter: rate.NewLimiter(rate.Limit(limits.RPS), 1),
		timeout: limits.Timeout, backoff: limits.Backoff, onRetry: limits.OnRetry}
	client := &http.Client{
		Transport: retry,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("the Ethereum endpoint redirected to %s: refused", req.URL.Redacted())
		},
	}
	c, err := rpc.DialOptions(ctx, url, rpc.WithHTTPClient(client))
	if err != nil {
		return nil, err
	}
	return &EthClient{Client: ethclient.NewClient(c), retry: retry}, nil
}

// retryTransport paces calls and retries the endpoint's "busy" answers
// with exponential backoff and jitter (or its Retry-After), for at most
// timeout per call. An answer that refuses the request itself (a log range
// too wide, a bad parameter) is passed on at once: the caller decides.
type retryTransport struct {
	next    http.RoundTripper
	limiter *rate.Limiter
	timeout time.Duration
	retries atomic.Int64
	onRetry func(int64, string)
	backoff time.Duration

	mu    sync.Mutex
	calls map[string]int64 // by JSON-RPC method
}

// count notes the JSON-RPC methods of one request body (an object, or a
// batch: an array of them).
func (t *retryTransport) count(body []byte) {
	var one struct{ Method string }
	var batch []struct{ Method string }
	methods := []string{"unknown"}
	if json.Unmarshal(body, &one) == nil && one.Method != "" {
		methods = []string{one.Method}
	} else if json.Unmarshal(body, &batch) == nil && len(batch) > 0 {
		methods = methods[:0]
		for _, b := range batch {
			methods = append(methods, b.Method)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls == nil {
		t.calls = map[string]int64{}
	}
	for _, m := range methods {
		t.calls[m]++
	}
}

// ethBackoffBase is the default first wait before a retry.
const ethBackoffBase = 500 * time.Millisecond

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	deadline := time.Now().Add(t.timeout)
	for attempt := 0; ; attempt++ {
		if err := t.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		try := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			raw, err := io.ReadAll(io.LimitReader(body, maxRPCResponse))
			body.Close()
			if err != nil {
				return nil, err
			}
			t.count(raw)
			try.Body = io.NopCloser(bytes.NewReader(raw))
		}
		resp, err := t.next.RoundTrip(try)
		if err != nil {
			return nil, err
		}
		wait, busy := busyAnswer(resp)
		if !busy {
			return resp, nil
		}
		d := t.backoff << min(attempt, 5)
		d += time.Duration(mathrand.Int64N(int64(d/2) + 1))
		d = max(d, wait)
		if time.Now().Add(d).After(deadline) || req.GetBody == nil {
			return resp, nil // out of time: the caller sees the busy answer
		}
		resp.Body.Close()
		if n := t.retries.Add(1); t.onRetry != nil {
			t.onRetry(n, resp.Status)
		}
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
	}
}

// busyAnswer reports whether resp says "later", and any Retry-After. A
// 200 answer is read (it is small when it is an error) and given back.
func busyAnswer(resp *http.Response) (time.Duration, bool) {
	var wait time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
		wait = min(time.Duration(secs)*time.Second, time.Minute)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return wait, true
	case http.StatusOK:
	default:
		return 0, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, rateLimitProbe+1))
	rest := resp.Body
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil || len(body) > rateLimitProbe {
		return 0, false // a long answer is a result, not an error
	}
	var reply struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &reply) != nil || reply.Error == nil {
		return 0, false
	}
	return wait, isRateLimit(reply.Error.Code, reply.Error.Message)
}

// rateLimitProbe is how much of a 200 answer is read to look for a
// JSON-RPC rate-limit error.
const rateLimitProbe = 4096

// isRateLimit recognises the providers' "slow down" errors (code 429, or a
// message about request rates), and nothing about the request itself: a
// log range refused for its width or its result count is not busy, and the
// log pager halves it instead.
func isRateLimit(code int, message string) bool {
	m := strings.ToLower(message)
	return code == 429 || strings.Contains(m, "rate limit") || strings.Contains(m, "too many requests") ||
		strings.Contains(m, "request rate exceeded") || strings.Contains(m, "rate exceeded")
}

type readCloser struct {
	io.Reader
	io.Closer
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
