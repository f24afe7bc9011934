// Package metrics exposes what vcsync's long-running commands (serve, and
// sync with --follow) are doing as Prometheus metrics, with the
// ecosystem's client library: names prefixed vcsync_, counters ending in
// _total, base units, and labels only from small fixed sets (a drop kind,
// an endpoint, a status class), never a peer URL or a height.
//
// It implements the observers the sync core and the peer server declare,
// so neither imports Prometheus.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

// Registry holds one process's metrics.
type Registry struct {
	reg *prometheus.Registry

	inOrder, lastSynced, top, gap prometheus.Gauge
	committedBlocks, committed    prometheus.Counter
	batches                       prometheus.Counter
	dropped                       *prometheus.CounterVec
	rounds                        *prometheus.CounterVec
	lastRound, lastRoundOK        prometheus.Gauge
	peerTop, lag                  prometheus.Gauge
	latency                       *prometheus.HistogramVec
	verifyFailures                *prometheus.CounterVec
	// storeTop and bestPeerTop are the last values set, for the lag.
	storeTop, bestPeerTop atomic.Uint64

	streamsOpen               prometheus.Gauge
	streamsRefused            prometheus.Counter
	servedBlocks, servedBytes prometheus.Counter
	requests                  *prometheus.CounterVec
}

// New registers vcsync's metrics and the Go runtime's.
func New(version string) *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { r.reg.MustRegister(c) }
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		f(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		f(c)
		return c
	}
	f(collectors.NewGoCollector())
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vcsync_build_info", Help: "1, labelled with the build's version and Go version."}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	f(build)

	r.inOrder = gauge("vcsync_store_in_order", "Height up to which the store holds every block (InOrder).")
	r.lastSynced = gauge("vcsync_store_last_synced", "Lowest height of the current reverse run (LastSynced).")
	r.top = gauge("vcsync_store_top", "Highest height stored (Top).")
	r.gap = gauge("vcsync_store_gap_blocks", "Blocks missing between InOrder and LastSynced.")
	r.committedBlocks = counter("vcsync_sync_committed_blocks_total", "Verified blocks committed to the store.")
	r.committed = counter("vcsync_sync_committed_bytes_total", "Bytes of verified blocks committed to the store.")
	r.batches = counter("vcsync_sync_batches_total", "Batches started from a peer.")
	r.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vcsync_sync_peers_dropped_total", Help: "Peers dropped for the rest of a run, by why."}, []string{"kind"})
	f(r.dropped)
	r.rounds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vcsync_sync_rounds_total", Help: "Rounds of a following sync, by result (ok, failed)."}, []string{"result"})
	f(r.rounds)
	r.peerTop = gauge("vcsync_sync_best_peer_top", "The highest height a peer advertised in the last availability round.")
	r.lag = gauge("vcsync_sync_lag_blocks", "Blocks between the best peer's top and the store's Top (0 when the store is ahead or level).")
	r.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vcsync_sync_duration_seconds",
		Help:    "How long a batch (from the grant to its last chunk) or a chunk (one read from the peer) took.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"what"})
	f(r.latency)
	r.verifyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vcsync_sync_verification_failures_total",
		Help: "Blocks from peers that failed verification, by reason: " + strings.Join(failureReasons, ", ") + "."}, []string{"reason"})
	f(r.verifyFailures)
	r.lastRound = gauge("vcsync_sync_last_round_timestamp_seconds", "When the last round of a following sync ended (unix seconds).")
	r.lastRoundOK = gauge("vcsync_sync_last_round_success", "1 if the last round of a following sync succeeded, else 0.")

	r.streamsOpen = gauge("vcsync_serve_streams_open", "Block streams being served now.")
	r.streamsRefused = counter("vcsync_serve_streams_refused_total", "Block requests answered busy (503).")
	r.servedBlocks = counter("vcsync_serve_blocks_total", "Blocks streamed to clients.")
	r.servedBytes = counter("vcsync_serve_bytes_total", "Bytes of blocks streamed to clients.")
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vcsync_serve_requests_total", Help: "Requests served, by endpoint and status class."}, []string{"endpoint", "code"})
	f(r.requests)
	return r
}

// Store sets the store gauges.
func (r *Registry) Store(st store.State) {
	r.inOrder.Set(float64(st.InOrder))
	r.lastSynced.Set(float64(st.LastSynced))
	r.top.Set(float64(st.Top))
	r.storeTop.Store(st.Top)
	r.lag.Set(float64(lag(r.bestPeerTop.Load(), st.Top)))
	gap := 0.0
	if st.GapOpen() {
		gap = float64(st.LastSynced - st.InOrder - 1)
	}
	r.gap.Set(gap)
}

// The sync core's observer (syncer.Observer).

func (r *Registry) Target(uint64)            {}
func (r *Registry) Batch(string, wire.Grant) { r.batches.Inc() }
func (r *Registry) Dropped(_, kind, reason string) {
	r.dropped.WithLabelValues(kind).Inc()
	if kind == "bad_block" || kind == "untrusted_tip" {
		r.verifyFailures.WithLabelValues(failureReason(kind, reason)).Inc()
	}
}

func (r *Registry) PeerTip(height uint64) {
	r.bestPeerTop.Store(height)
	r.peerTop.Set(float64(height))
	r.lag.Set(float64(lag(height, r.storeTop.Load())))
}

func lag(peer, top uint64) uint64 {
	if peer > top {
		return peer - top
	}
	return 0
}

func (r *Registry) Timed(what string, d time.Duration) {
	r.latency.WithLabelValues(what).Observe(d.Seconds())
}

// failureReasons is the fixed label set of verification failures, so a
// peer's words never become a label.
var failureReasons = []string{"untrusted_tip", "not_member", "insufficient_weight", "bad_signature", "unlinked", "committee", "other"}

// failureReason classifies a verification failure from the verifier's
// words (verify's BlockError reasons).
func failureReason(kind, reason string) string {
	switch {
	case kind == "untrusted_tip":
		return "untrusted_tip"
	case strings.Contains(reason, "not a member"), strings.Contains(reason, "not by the signer it names"):
		return "not_member"
	case strings.Contains(reason, "quorum"), strings.Contains(reason, "honest stake"), strings.Contains(reason, "signed weight"):
		return "insufficient_weight"
	case strings.Contains(reason, "signature"), strings.Contains(reason, "recover"):
		return "bad_signature"
	case strings.Contains(reason, "does not link"), strings.Contains(reason, "hash"):
		return "unlinked"
	case strings.Contains(reason, "names no committee"):
		return "committee"
	}
	return "other"
}
func (r *Registry) Committed(st store.State, blocks, bytes int) {
	r.Store(st)
	r.committedBlocks.Add(float64(blocks))
	r.committed.Add(float64(bytes))
}

// Round records the end of a round of sync --follow.
func (r *Registry) Round(err error) {
	r.lastRound.Set(float64(time.Now().Unix()))
	if err != nil {
		r.rounds.WithLabelValues("failed").Inc()
		r.lastRoundOK.Set(0)
		return
	}
	r.rounds.WithLabelValues("ok").Inc()
	r.lastRoundOK.Set(1)
}

// The peer server's observer (peerserver.Observer).

func (r *Registry) StreamOpened()  { r.streamsOpen.Inc() }
func (r *Registry) StreamClosed()  { r.streamsOpen.Dec() }
func (r *Registry) StreamRefused() { r.streamsRefused.Inc() }
func (r *Registry) Served(blocks, bytes int) {
	r.servedBlocks.Add(float64(blocks))
	r.servedBytes.Add(float64(bytes))
}
func (r *Registry) Request(endpoint string, code int) {
	r.requests.WithLabelValues(endpoint, fmt.Sprintf("%dxx", code/100)).Inc()
}

// Serve answers GET /metrics on ln until ctx ends; it returns once the
// server has stopped.
func (r *Registry) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var stopper sync.WaitGroup
	defer stopper.Wait()
	stop := make(chan struct{})
	defer close(stop)
	stopper.Go(func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// EthStats is what the Ethereum committee source tells of its work.
type EthStats interface {
	Calls() map[string]int64   // JSON-RPC calls, by method
	Retries() int64            // busy answers retried
	Indexed() (uint64, string) // the last block indexed, and what the cache did
}

// WatchEthereum adds the Ethereum source's figures, read at each scrape.
func (r *Registry) WatchEthereum(src EthStats) { r.reg.MustRegister(ethCollector{src}) }

var (
	ethCallsDesc   = prometheus.NewDesc("vcsync_eth_rpc_calls_total", "JSON-RPC calls to the Ethereum endpoint, by method (retries included).", []string{"method"}, nil)
	ethRetriesDesc = prometheus.NewDesc("vcsync_eth_rpc_retries_total", "Busy answers of the Ethereum endpoint that were retried.", nil, nil)
	ethIndexDesc   = prometheus.NewDesc("vcsync_eth_index_block", "The last Ethereum block the committee index holds.", nil, nil)
	ethCacheDesc   = prometheus.NewDesc("vcsync_eth_cache_info", "1, labelled with what the index cache did: off, miss, hit, rebuilt or unusable.", []string{"outcome"}, nil)
)

type ethCollector struct{ src EthStats }

func (c ethCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ethCallsDesc
	ch <- ethRetriesDesc
	ch <- ethIndexDesc
	ch <- ethCacheDesc
}

func (c ethCollector) Collect(ch chan<- prometheus.Metric) {
	for method, n := range c.src.Calls() {
		ch <- prometheus.MustNewConstMetric(ethCallsDesc, prometheus.CounterValue, float64(n), method)
	}
	ch <- prometheus.MustNewConstMetric(ethRetriesDesc, prometheus.CounterValue, float64(c.src.Retries()))
	block, cache := c.src.Indexed()
	ch <- prometheus.MustNewConstMetric(ethIndexDesc, prometheus.GaugeValue, float64(block))
	outcome, _, _ := strings.Cut(cache, ":") // "rebuilt: why" -> rebuilt: a fixed label set
	ch <- prometheus.MustNewConstMetric(ethCacheDesc, prometheus.GaugeValue, 1, outcome)
}

// WriteText writes every metric in the Prometheus text format, as a scrape
// of /metrics gets it (for benchmarks and debugging).
func (r *Registry) WriteText(w io.Writer) error {
	families, err := r.reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.FmtText)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// WatchSignatures adds the count of signatures recovered, read at each
// scrape from recovered (the verifier's counter).
func (r *Registry) WatchSignatures(recovered func() uint64) {
	r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vcsync_verify_signatures_recovered_total",
		Help: "Signatures recovered and matched to their committee member (every stored signature is)."},
		func() float64 { return float64(recovered()) }))
}
