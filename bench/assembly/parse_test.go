package main

import (
	"reflect"
	"testing"
)

func newState(n int, toIdx map[string]int) *parseState {
	return &parseState{n: n, seen: map[int]bool{}, toIdx: toIdx}
}

func TestParsers(t *testing.T) {
	cl := cloisterSystem("lan")
	st := newState(2, map[string]int{"127.0.0.1:7001": 0, "127.0.0.1:7002": 1})
	for _, tc := range []struct {
		line string
		want []event
	}{
		{`{"event":"state","from":"assembling","to":"rehashing","members":2}`, []event{{kind: "partial"}}},
		{`{"event":"up","member":"bench@127.0.0.1:7002"}`, []event{{kind: "joined", subject: 1}}}, // first seen
		{`{"event":"up","member":"bench@127.0.0.1:7002"}`, []event{{kind: "up", subject: 1}}},     // again
		{`{"event":"state","from":"rehashing","to":"ready","members":2}`, []event{{kind: "whole"}, {kind: "ready"}}},
		{`{"event":"state","from":"rehashing","to":"ready","members":2}`, []event{{kind: "whole"}}}, // ready once
		{`{"event":"down","member":"bench@127.0.0.1:7002","reason":"failed"}`, []event{{kind: "failed", subject: 1}}},
		{`{"event":"state","from":"ready","to":"ready","members":1}`, []event{{kind: "partial"}}}, // not the full view
		{`{"event":"down","member":"bench@127.0.0.1:7002","reason":"left"}`, []event{{kind: "left", subject: 1}}},
		{`{"event":"view","members":2}`, nil},
		{`not json`, nil},
	} {
		if got := cl.parse(tc.line, st); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("cloister %q = %v, want %v", tc.line, got, tc.want)
		}
	}

	sf := serfSystem("lan")
	st = newState(2, nil)
	for _, tc := range []struct {
		line string
		want []event
	}{
		{`    2026/11/23 05:24:18 [INFO] serf: EventMemberJoin: n0 127.0.0.1`, []event{{kind: "joined", subject: 0}}},
		{`    2026/11/23 05:24:18 [INFO] serf: EventMemberJoin: n1 127.0.0.1`, []event{{kind: "joined", subject: 1}, {kind: "ready"}}},
		{`    2026/11/23 05:24:20 [INFO] serf: EventMemberFailed: n1 127.0.0.1`, []event{{kind: "failed", subject: 1}}},
		{`    2026/11/23 05:24:18 [INFO] serf: EventMemberJoin: n1 127.0.0.1`, []event{{kind: "up", subject: 1}}}, // seen already: back
		{`    2026/11/23 05:24:20 [INFO] serf: EventMemberLeave: n1 127.0.0.1`, []event{{kind: "left", subject: 1}}},
		{`    2026/11/23 05:24:20 [INFO] serf: EventMemberFailed: n1 127.0.0.1`, []event{{kind: "failed", subject: 1}}},
		{`    2026/11/23 05:24:19 [INFO] agent: Received event: member-join`, nil},
	} {
		if got := sf.parse(tc.line, st); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("serf %q = %v, want %v", tc.line, got, tc.want)
		}
	}

	ml := memberlistSystem()
	st = newState(2, nil)
	for _, tc := range []struct {
		line string
		want []event
	}{
		{"JOIN n0", []event{{kind: "joined", subject: 0}}},
		{"JOIN n1", []event{{kind: "joined", subject: 1}, {kind: "ready"}}},
		{"LEAVE n1", []event{{kind: "gone", subject: 1}}},
		{"JOIN n1", []event{{kind: "up", subject: 1}}}, // back after a failure
		{"JOIN", nil},
	} {
		if got := ml.parse(tc.line, st); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("memberlist %q = %v, want %v", tc.line, got, tc.want)
		}
	}
}
