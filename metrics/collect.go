package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/internal/telemetry"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics, all made at scrape time from a telemetry.Snapshot.
var (
	descAgreement = desc("cloister_view_agreement_seconds", "Time from a view change to Ready with that view, as this node saw it.")
	descCallDur   = desc("cloister_call_duration_seconds", "Duration of calls this node made (Call, CallOwner, CallTyped), by handler name, successful or not.", "handler")
	descHandleDur = desc("cloister_handler_duration_seconds", "Duration of this node's handlers serving calls and casts, by handler name.", "handler")

	descState       = desc("cloister_state", "1 for this node's current state, 0 for the others.", "state")
	descMembers     = desc("cloister_members", "Members of this node's view, this node included, by the state they advertise.", "state")
	descQuorate     = desc("cloister_quorate", "1 when this node is Ready, or rehashing a view change without having lost quorum (what /readyz answers); else 0.")
	descTerm        = desc("cloister_term", "The cluster term of this node's last agreed view (Snapshot.Term): the fencing token.")
	descViewChanges = desc("cloister_view_changes_total", "Changes of this node's view (member set).")
	descTransitions = desc("cloister_state_transitions_total", "Transitions of this node's state.", "from", "to")
	descMemberUp    = desc("cloister_member_up_total", "Members that entered this node's view.")
	descMemberDown  = desc("cloister_member_down_total", "Members that left this node's view, by reason: failed (the failure detector declared it dead), left (graceful stop), replaced (a restart).", "reason")
	descDiscovery   = desc("cloister_discovery_errors_total", "Polls of the sentry that failed.")
	descDropped     = desc("cloister_events_dropped_total", "Events dropped because a listener's or subscription's queue was full.")
	descHealth      = desc("cloister_health_score", "memberlist's Lifeguard local health (awareness) score: 0 is healthy; it rises when this node misses probes or has to refute suspicions about itself.")
	descBadAdverts  = desc("cloister_adverts_dropped_total", "Direct adverts from members dropped as unreadable.")
	descLateAcks    = desc("cloister_confirmation_ack_lateness_seconds", "How late acks to confirmation pings came past their confirmation's base deadline (its last ping's timeout and a grace of three more): those too late, and those a confirmation still took in the time it made up after this node itself was starved.")
	descPings       = desc("cloister_confirmation_pings_total", "Side pings that confirm memberlist's failure verdicts, by event: sent, acked (confirmations that found the member answering), answered (pings for this node it acknowledged), too_late (acks to a confirmation that had ended unanswered: the member was alive), unmatched (other acks nobody waited for: a second ack, replayed or unreadable).", "event")

	descGossipPackets     = desc("cloister_gossip_packets_total", "Gossip datagrams, by direction (sent, received).", "direction")
	descGossipBytes       = desc("cloister_gossip_bytes_total", "Bytes of gossip datagrams as they travel (encrypted, labelled), by direction (sent, received).", "direction")
	descGossipStreams     = desc("cloister_gossip_streams_total", "Gossip streams (push/pull state exchanges, joins, TCP probes): dialled by this node, or accepted from peers after their prefix passed the checks.", "direction")
	descGossipStreamsRef  = desc("cloister_gossip_streams_refused_total", "Gossip streams refused before memberlist read them, by reason.", "reason")
	descGossipPacketsRef  = desc("cloister_gossip_packets_refused_total", "Gossip datagrams refused, by reason.", "reason")
	descGossipJoinRefused = desc("cloister_gossip_joins_refused_total", "Joins this node tried that the peer refused, or whose answer failed authentication: another secret or app.")
	descSuppressedLogs    = desc("cloister_gossip_log_lines_suppressed_total", "memberlist log lines dropped by the rate limit on its logs.")
	descHandlerQueueFull  = desc("cloister_gossip_messages_dropped_queue_full_total", "Messages received and dropped because their queue was full: memberlist's handler queue (suspicions) or that of cloister's own datagrams (adverts, down notices).")

	descCalls          = desc("cloister_calls_total", "Calls this node made, by handler name (Multicall replies included).", "handler")
	descCallErrors     = desc("cloister_call_errors_total", "Calls this node made that failed, by handler name (Multicall replies included).", "handler")
	descCasts          = desc("cloister_casts_total", "Casts this node sent, by handler name.", "handler")
	descCastErrors     = desc("cloister_cast_errors_total", "Casts this node could not queue, by handler name.", "handler")
	descServed         = desc("cloister_handled_total", "Calls and casts this node's handlers served, by handler name.", "handler")
	descServedErrors   = desc("cloister_handler_errors_total", "Calls and casts this node's handlers answered with an error, by handler name.", "handler")
	descCallConns      = desc("cloister_call_connections", "Open connections of the call layer.")
	descCallConnsRef   = desc("cloister_call_connections_refused_total", "Connections of the call layer refused, by reason.", "reason")
	descImpersonations = desc("cloister_call_impersonations_total", "Connections of the call layer refused for claiming a member ID their certificate does not prove (also counted as bad_hello).")
	descOverloaded     = desc("cloister_calls_overloaded_total", "Calls refused by a bound on calls in flight, here or at the callee.")
	descTooLarge       = desc("cloister_messages_too_large_total", "Call and cast messages refused for their size, sent or received.")
	descCastsDropped   = desc("cloister_casts_dropped_total", "Casts received and not handled: no handler, overloaded or too large.")
	descPanics         = desc("cloister_handler_panics_total", "Handlers that panicked.")
	descTransportRef   = desc("cloister_transport_connections_refused_total", "Connections to the port closed before they said which layer they were for, by reason.", "reason")
	allDescsHistograms = []*prometheus.Desc{descAgreement, descCallDur, descHandleDur}
	allDescsNoLabels   = []*prometheus.Desc{descState, descMembers, descQuorate, descTerm, descViewChanges, descTransitions, descMemberUp, descMemberDown, descDiscovery, descDropped, descHealth, descBadAdverts, descPings, descLateAcks}
	allDescsTraffic    = []*prometheus.Desc{descGossipPackets, descGossipBytes, descGossipStreams, descGossipStreamsRef, descGossipPacketsRef, descGossipJoinRefused, descSuppressedLogs, descHandlerQueueFull}
	allDescsCallLayer  = []*prometheus.Desc{descCalls, descCallErrors, descCasts, descCastErrors, descServed, descServedErrors, descCallConns, descCallConnsRef, descImpersonations, descOverloaded, descTooLarge, descCastsDropped, descPanics, descTransportRef}
)

// collector publishes one node's instruments.
type collector struct{ m *telemetry.Metrics }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, ds := range [][]*prometheus.Desc{allDescsNoLabels, allDescsTraffic, allDescsCallLayer, allDescsHistograms} {
		for _, d := range ds {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	snap := c.m.Snapshot()
	counter(descViewChanges, snap.ViewChanges)
	counter(descMemberUp, snap.MemberUps)
	for _, r := range []core.Reason{core.Failed, core.Left, core.Replaced} {
		counter(descMemberDown, snap.MemberDowns[r], r.String())
	}
	counter(descDiscovery, snap.DiscoveryErrors)
	for from := range telemetry.NumStates {
		for to := range telemetry.NumStates {
			// Only transitions that happened: 49 zero series would
			// hide the few that matter.
			if v := snap.Transitions[from][to]; v > 0 {
				counter(descTransitions, v, core.State(from).String(), core.State(to).String())
			}
		}
	}
	ch <- histogram(descAgreement, snap.Agreement)
	for _, h := range snap.Handlers {
		ch <- histogram(descCallDur, h.CallDuration, h.Name)
	}
	for _, h := range snap.Handlers {
		ch <- histogram(descHandleDur, h.HandleDuration, h.Name)
	}
	for _, h := range snap.Handlers {
		counter(descCalls, h.Calls, h.Name)
		counter(descCallErrors, h.CallErrors, h.Name)
		counter(descCasts, h.Casts, h.Name)
		counter(descCastErrors, h.CastErrors, h.Name)
		counter(descServed, h.Served, h.Name)
		counter(descServedErrors, h.ServedErrors, h.Name)
	}

	if snap.Status == nil {
		return
	}
	st := *snap.Status
	for s := range telemetry.NumStates {
		v := 0.0
		if core.State(s) == st.State {
			v = 1
		}
		gauge(descState, v, core.State(s).String())
	}
	var members [telemetry.NumStates]int
	for _, s := range st.MemberStates {
		if int(s) < telemetry.NumStates {
			members[s]++
		}
	}
	for s, n := range members {
		gauge(descMembers, float64(n), core.State(s).String())
	}
	gauge(descQuorate, b2f(st.Quorate))
	gauge(descTerm, float64(st.Term))
	counter(descDropped, st.DroppedEvents)

	ms := st.Membership
	gauge(descHealth, float64(ms.HealthScore))
	counter(descBadAdverts, ms.BadAdverts)
	counter(descPings, ms.PingsSent, "sent")
	counter(descPings, ms.PingsAcked, "acked")
	counter(descPings, ms.PingsAnswered, "answered")
	counter(descPings, ms.AcksTooLate, "too_late")
	counter(descPings, ms.AcksUnmatched, "unmatched")
	ch <- lateAcks(ms.AckLateness)
	counter(descGossipPackets, ms.PacketsSent, "sent")
	counter(descGossipPackets, ms.PacketsReceived, "received")
	counter(descGossipBytes, ms.BytesSent, "sent")
	counter(descGossipBytes, ms.BytesReceived, "received")
	counter(descGossipStreams, ms.StreamsDialled, "dialled")
	counter(descGossipStreams, ms.StreamsAccepted, "accepted")
	for _, r := range []struct {
		reason string
		v      uint64
	}{
		{"wrong_label", ms.StreamsWrongLabel},
		{"wrong_mode", ms.StreamsWrongMode},
		{"too_large", ms.StreamsTooLarge},
		{"over_limit", ms.StreamsOverLimit},
		{"slow", ms.StreamsSlow},
		{"malformed", ms.StreamsMalformed},
		{"auth_failed", ms.StreamsAuthFailed},
	} {
		counter(descGossipStreamsRef, r.v, r.reason)
	}
	counter(descGossipPacketsRef, ms.PacketsAuthFailed, "auth_failed")
	counter(descGossipPacketsRef, ms.PacketsWrongLabel, "wrong_label")
	counter(descGossipPacketsRef, ms.PacketsMalformed, "malformed")
	counter(descGossipJoinRefused, ms.JoinsAuthFailed)
	counter(descSuppressedLogs, ms.SuppressedLogLines)
	counter(descHandlerQueueFull, ms.HandlerQueueFull)

	cs := st.Calls
	gauge(descCallConns, float64(cs.Conns))
	counter(descCallConnsRef, cs.ProtocolErrors, "protocol_error")
	counter(descCallConnsRef, cs.AuthFailures, "auth_failed")
	counter(descCallConnsRef, cs.RefusedHellos, "bad_hello")
	counter(descImpersonations, cs.Impersonations)
	counter(descCallConnsRef, cs.Refused, "handshake_limit")
	counter(descOverloaded, cs.Overloaded)
	counter(descTooLarge, cs.TooLarge)
	counter(descCastsDropped, cs.DroppedCasts)
	counter(descPanics, cs.HandlerPanics)

	ts := st.Transport
	counter(descTransportRef, ts.BadHandshakes, "bad_handshake")
	counter(descTransportRef, ts.DroppedStreams, "not_taken")
	counter(descTransportRef, ts.RefusedStreams, "handshake_limit")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// histogram is h in Prometheus' form.
func histogram(d *prometheus.Desc, h telemetry.HistogramValue, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Cumulative[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
}

// lateAcks is the histogram of late acks in Prometheus' form: cumulative
// buckets, in seconds.
func lateAcks(l membership.Lateness) prometheus.Metric {
	buckets := make(map[float64]uint64, len(l.Bounds))
	var cum uint64
	for i, b := range l.Bounds {
		cum += l.Counts[i]
		buckets[b.Seconds()] = cum
	}
	if len(l.Counts) > len(l.Bounds) {
		cum += l.Counts[len(l.Bounds)]
	}
	return prometheus.MustNewConstHistogram(descLateAcks, cum, l.Sum.Seconds(), buckets)
}
