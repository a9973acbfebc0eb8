package eventlog_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

const (
	putA   = `{"op":"put","key":"a","ts":1,"value":"v"}`
	region = `{"id":1,"version":5,"start":"a","end":"z"}`
)

// TestMalformed checks that each input is refused with the right line and
// a message that says what is wrong.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		// Lines and JSON.
		{"invalid json", `{"op":"put",`, 1, "invalid JSON"},
		{"not an object", `["op","put"]`, 1, "want a JSON object, got a JSON array"},
		{"two objects on a line", `{"op":"check"} {"op":"check"}`, 1, "invalid JSON"},
		{"bare string", `"check"`, 1, "want a JSON object"},
		{"invalid utf-8", "{\"op\":\"put\",\"key\":\"\xff\",\"ts\":1,\"value\":\"v\"}", 1, "not valid UTF-8"},
		{"invalid utf-8 in comment", "# caf\xe9", 1, "not valid UTF-8"},
		{"line after comments", "# c\n\n   // d\n\t\n{\"op\":\"check\",", 5, "invalid JSON"},
		{"crlf line numbers", "# c\r\n" + putA + "\r\n{\"op\":\"nope\"}\r\n", 3, `unknown op "nope"`},
		{"comment not at line start after json", putA + " # trailing", 1, "invalid JSON"},
		// op and at.
		{"missing op", `{"key":"a"}`, 1, `missing field "op"`},
		{"op not string", `{"op":5}`, 1, `field "op" must be a string, got 5`},
		{"unknown op", putA + "\n" + `{"op":"Put"}`, 2, `unknown op "Put"`},
		{"duplicate field", `{"op":"put","key":"a","ts":1,"ts":2,"value":"v"}`, 1, `put: duplicate field "ts"`},
		{"duplicate op", `{"op":"put","op":"delete","key":"a","ts":1}`, 1, `duplicate field "op"`},
		{"duplicate field via escape", `{"op":"put","key":"a","ts":1,"t\u0073":2,"value":"v"}`, 1, `put: duplicate field "ts"`},
		{"bad at", `{"op":"check","at":"2024-09-05 06:49:46"}`, 1, `check: field "at": bad time "2024-09-05 06:49:46"`},
		{"at not string", `{"op":"check","at":1725519000}`, 1, `check: field "at" must be a string, got 1725519000`},
		// put / delete.
		{"unknown field", `{"op":"put","key":"a","tss":1,"value":"v"}`, 1, `put: unknown field "tss"`},
		{"field name case", `{"op":"put","Key":"a","ts":1,"value":"v"}`, 1, `put: unknown field "Key"`},
		{"missing ts", putA + "\n" + `{"op":"put","key":"a","value":"v"}`, 2, `put: missing field "ts"`},
		{"missing key", `{"op":"delete","ts":1}`, 1, `delete: missing field "key"`},
		{"missing value", `{"op":"put","key":"a","ts":1}`, 1, `put: missing field "value"`},
		{"ts as string", `{"op":"put","key":"a","ts":"5","value":"v"}`, 1, `put: field "ts" must be a positive integer, got "5"`},
		{"ts zero", `{"op":"delete","key":"a","ts":0}`, 1, `delete: field "ts" must be a positive integer, got 0`},
		{"ts negative", `{"op":"delete","key":"a","ts":-3}`, 1, `must be a positive integer, got -3`},
		{"ts fraction", `{"op":"delete","key":"a","ts":1.5}`, 1, `must be a positive integer, got 1.5`},
		{"ts integral float", `{"op":"delete","key":"a","ts":2.0}`, 1, `must be a positive integer, got 2.0`},
		{"ts exponent", `{"op":"delete","key":"a","ts":1e3}`, 1, `must be a positive integer, got 1e3`},
		{"ts null", `{"op":"delete","key":"a","ts":null}`, 1, `must be a positive integer, got null`},
		{"ts overflow", `{"op":"delete","key":"a","ts":18446744073709551616}`, 1, `field "ts" is too large`},
		{"value not string", `{"op":"put","key":"a","ts":1,"value":5}`, 1, `put: field "value" must be a string, got 5`},
		{"key not string", `{"op":"put","key":["a"],"ts":1,"value":"v"}`, 1, `put: field "key" must be a string`},
		{"bad key odd hex", `{"op":"delete","key":"0x7A748","ts":1}`, 1, `delete: field "key": bad key "0x7A748": odd number of hex digits`},
		{"bad key not hex", `{"op":"delete","key":"0xzz","ts":1}`, 1, `bad key "0xzz": not valid hex`},
		{"lone surrogate", `{"op":"delete","key":"\ud800","ts":1}`, 1, "unpaired UTF-16 surrogate"},
		{"reversed surrogates", `{"op":"delete","key":"\udc00\ud800","ts":1}`, 1, "unpaired UTF-16 surrogate"},
		// config.
		{"config after op", putA + "\n# c\n" + `{"op":"config","loaders":2}`, 3, "config: must come before every other op (line 1 is put)"},
		{"config bad unit", `{"op":"config","capacity":"64MB"}`, 1, `config: field "capacity": bad size "64MB"`},
		{"config fraction size", `{"op":"config","capacity":"1.5GiB"}`, 1, `bad size "1.5GiB"`},
		{"config zero size", `{"op":"config","evict_threshold":0}`, 1, `field "evict_threshold": size must be positive`},
		{"config negative size", `{"op":"config","stop_load_threshold":-1}`, 1, `bad size -1`},
		{"config float size", `{"op":"config","capacity":1.5}`, 1, `bad size 1.5`},
		{"config size bool", `{"op":"config","capacity":true}`, 1, `field "capacity" must be a size`},
		{"config size overflow", `{"op":"config","capacity":"17179869184TiB"}`, 1, `too large`},
		{"config loaders zero", `{"op":"config","loaders":0}`, 1, `field "loaders" must be a positive integer, got 0`},
		{"config loaders huge", `{"op":"config","loaders":4294967296}`, 1, `field "loaders" is too large`},
		{"config empty", `{"op":"config"}`, 1, "config: sets nothing"},
		{"config unknown field", `{"op":"config","capacity":"1GiB","threads":2}`, 1, `config: unknown field "threads"`},
		// batch.
		{"batch empty", `{"op":"batch","ops":[]}`, 1, `batch: field "ops" is empty`},
		{"batch not array", `{"op":"batch","ops":{"op":"put"}}`, 1, `batch: field "ops" must be an array`},
		{"batch missing ops", `{"op":"batch"}`, 1, `batch: missing field "ops"`},
		{"batch item at", `{"op":"batch","ops":[` + putA + `,{"op":"delete","key":"a","ts":2,"at":"2024-09-05T06:49:46Z"}]}`, 1,
			`batch: ops[1]: field "at" is not allowed in a batch item`},
		{"batch item kind", `{"op":"batch","ops":[{"op":"load"}]}`, 1, `batch: ops[0]: op must be "put" or "delete", got "load"`},
		{"batch item unknown field", `{"op":"batch","ops":[{"op":"delete","key":"a","ts":2,"value":"v"}]}`, 1, `batch: ops[0]: unknown field "value"`},
		{"batch item not object", `{"op":"batch","ops":["put"]}`, 1, `batch: ops[0] must be an object, got "put"`},
		{"batch item missing ts", `{"op":"batch","ops":[{"op":"put","key":"a","value":"v"}]}`, 1, `batch: ops[0]: missing field "ts"`},
		{"batch item missing op", `{"op":"batch","ops":[{"key":"a","ts":1}]}`, 1, `batch: ops[0]: missing field "op"`},
		// regions.
		{"load missing region", `{"op":"load"}`, 1, `load: missing field "region"`},
		{"region start not below end", `{"op":"load","region":{"id":1,"version":1,"start":"m","end":"a"}}`, 1, `load: region: region 1 v1 ["m", "a"): start "m" is not below end "a"`},
		{"region empty range", `{"op":"load","region":{"id":1,"version":1,"start":"m","end":"m"}}`, 1, `start "m" is not below end "m"`},
		{"region unknown field", `{"op":"load","region":{"id":1,"ver":1,"start":"a"}}`, 1, `load: region: unknown field "ver"`},
		{"region id zero", `{"op":"load","region":{"id":0,"version":1,"start":"a"}}`, 1, `load: region: field "id" must be a positive integer, got 0`},
		{"region id float", `{"op":"load","region":{"id":1.5,"version":1,"start":"a"}}`, 1, `field "id" must be a positive integer, got 1.5`},
		{"region version missing", `{"op":"load","region":{"id":1,"start":"a"}}`, 1, `load: region: missing field "version"`},
		{"region start missing", `{"op":"load","region":{"id":1,"version":2}}`, 1, `load: region: missing field "start"`},
		{"region end null", `{"op":"load","region":{"id":1,"version":2,"start":"a","end":null}}`, 1, `field "end" must be a string, got null`},
		{"region bad key", `{"op":"load","region":{"id":1,"version":2,"start":"0x1"}}`, 1, `load: region: field "start": bad key "0x1"`},
		{"region not object", `{"op":"load","region":409114}`, 1, `load: region must be an object, got 409114`},
		{"region duplicate field", `{"op":"load","region":{"id":1,"id":2,"version":2,"start":"a"}}`, 1, `load: region: duplicate field "id"`},
		{"evict bad reason", `{"op":"evict","region":` + region + `,"reason":"because"}`, 1, `evict: unknown reason "because"`},
		{"evict reason null", `{"op":"evict","region":` + region + `,"reason":null}`, 1, `evict: field "reason" must be a string`},
		// split.
		{"split one part", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"z"}]}`, 1, `split: field "into" must list at least 2 regions, got 1`},
		{"split into not array", `{"op":"split","region":` + region + `,"into":{}}`, 1, `split: field "into" must be an array`},
		{"split gap", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"f"},{"id":2,"version":6,"start":"g","end":"z"}]}`, 1,
			`split: regions in "into" are not contiguous: region 1 v6 ["a", "f") ends at "f" but region 2 v6 ["g", "z") starts at "g"`},
		{"split overlap", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"h"},{"id":2,"version":6,"start":"g","end":"z"}]}`, 1, `are not contiguous`},
		{"split same start", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"z"},{"id":2,"version":6,"start":"a","end":"z"}]}`, 1, `are not contiguous`},
		{"split bad start", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"b","end":"m"},{"id":2,"version":6,"start":"m","end":"z"}]}`, 1,
			`split: "into" does not partition the source: it starts at "b", the source at "a"`},
		{"split bad end", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"m"},{"id":2,"version":6,"start":"m"}]}`, 1,
			`split: "into" does not partition the source: it ends at +inf, the source at "z"`},
		{"split unbounded middle", `{"op":"split","region":{"id":1,"version":5,"start":"a"},"into":[{"id":1,"version":6,"start":"a"},{"id":2,"version":6,"start":"m"}]}`, 1, `ends at +inf but region 2 v6`},
		{"split old version", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"m"},{"id":2,"version":5,"start":"m","end":"z"}]}`, 1,
			`split: into[1]: version 5 is not above the source's version 5`},
		{"split id not kept", `{"op":"split","region":` + region + `,"into":[{"id":3,"version":6,"start":"a","end":"m"},{"id":2,"version":6,"start":"m","end":"z"}]}`, 1,
			`split: no region in "into" keeps the source's id 1`},
		{"split ids repeat", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"m"},{"id":1,"version":6,"start":"m","end":"z"}]}`, 1,
			`split: into[0] and into[1] have the same id 1`},
		{"split bad part", `{"op":"split","region":` + region + `,"into":[{"id":1,"version":6,"start":"a","end":"m"},{"id":2,"version":6,"start":"z","end":"m"}]}`, 1,
			`split: into[1]: region 2 v6 ["z", "m"): start "z" is not below end "m"`},
		{"split missing into", `{"op":"split","region":` + region + `}`, 1, `split: missing field "into"`},
		// merge.
		{"merge one region", `{"op":"merge","regions":[` + region + `],"into":{"id":1,"version":6,"start":"a","end":"z"}}`, 1, `merge: field "regions" must list at least 2 regions`},
		{"merge not adjacent", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":2,"version":5,"start":"g","end":"z"}],"into":{"id":1,"version":6,"start":"a","end":"z"}}`, 1,
			`merge: "regions" are not contiguous`},
		{"merge into foreign id", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":2,"version":5,"start":"f","end":"z"}],"into":{"id":3,"version":6,"start":"a","end":"z"}}`, 1,
			`merge: into: id 3 is not the id of any of the merged regions`},
		{"merge into old version", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":2,"version":7,"start":"f","end":"z"}],"into":{"id":1,"version":7,"start":"a","end":"z"}}`, 1,
			`merge: into: version 7 is not above the version 7 of region 2`},
		{"merge into wrong range", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":2,"version":5,"start":"f","end":"z"}],"into":{"id":1,"version":6,"start":"a"}}`, 1,
			`merge: into: range ["a", +inf) is not the union ["a", "z") of the merged regions`},
		{"merge repeated id", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":1,"version":5,"start":"f","end":"z"}],"into":{"id":1,"version":6,"start":"a","end":"z"}}`, 1,
			`merge: regions[0] and regions[1] have the same id 1`},
		{"merge into unknown field", `{"op":"merge","regions":[{"id":1,"version":5,"start":"a","end":"f"},{"id":2,"version":5,"start":"f","end":"z"}],"into":{"id":1,"version":6,"start":"a","end":"z","x":1}}`, 1,
			`merge: into: unknown field "x"`},
		// get / scan.
		{"get missing ts", `{"op":"get","key":"a"}`, 1, `get: missing field "ts"`},
		{"get snapshot not held", `{"op":"get","key":"a","snapshot":"s1"}`, 1, `get: snapshot "s1" is not held`},
		{"get after release", takeS1 + `{"op":"release","name":"s1"}` + "\n" + `{"op":"get","key":"a","snapshot":"s1"}`, 3,
			`get: snapshot "s1" is not held (released on line 2)`},
		{"get expect number", `{"op":"get","key":"a","ts":1,"expect":5}`, 1, `get: field "expect" must be a string, or null for not found, got 5`},
		{"get bad source", `{"op":"get","key":"a","ts":1,"source":"cache"}`, 1, `get: field "source" must be "memory" or "disk", got "cache"`},
		{"get unknown field", `{"op":"get","key":"a","ts":1,"limit":1}`, 1, `get: unknown field "limit"`},
		{"scan missing end", `{"op":"scan","start":"a","ts":1}`, 1, `scan: missing field "end"`},
		{"scan missing ts", `{"op":"scan","start":"a","end":"b"}`, 1, `scan: missing field "ts"`},
		{"scan ts zero with snapshot", takeS1 + `{"op":"scan","start":"a","end":"b","ts":0,"snapshot":"s1"}`, 2, `scan: field "ts" must be a positive integer, got 0`},
		{"scan reversed", `{"op":"scan","start":"m","end":"a","ts":1}`, 1, `scan: start "m" is not below end "a"`},
		{"scan limit zero", `{"op":"scan","start":"a","end":"","ts":1,"limit":0}`, 1, `scan: field "limit" must be a positive integer, got 0`},
		{"scan pair too short", `{"op":"scan","start":"a","end":"","ts":1,"expect":[["b"]]}`, 1, `scan: expect[0] must be a [key, value] pair of strings, got ["b"]`},
		{"scan pair not strings", `{"op":"scan","start":"a","end":"","ts":1,"expect":[["b",1]]}`, 1, `scan: expect[0] must be a [key, value] pair of strings`},
		{"scan expect object", `{"op":"scan","start":"a","end":"","ts":1,"expect":{"b":"1"}}`, 1, `scan: field "expect" must be an array`},
		{"scan expect null", `{"op":"scan","start":"a","end":"","ts":1,"expect":null}`, 1, `scan: field "expect" must be an array, got null`},
		{"scan unordered", `{"op":"scan","start":"a","end":"","ts":1,"expect":[["c","1"],["b","2"]]}`, 1, `scan: expect[1]: key "b" is not above the previous key "c"`},
		{"scan repeated key", `{"op":"scan","start":"a","end":"","ts":1,"expect":[["c","1"],["0x63","2"]]}`, 1, `scan: expect[1]: key "c" is not above the previous key "c"`},
		{"scan key outside", `{"op":"scan","start":"a","end":"m","ts":1,"expect":[["m","1"]]}`, 1, `scan: expect[0]: key "m" is outside the scanned range ["a", "m")`},
		{"scan over limit", `{"op":"scan","start":"a","end":"","ts":1,"limit":1,"expect":[["b","1"],["c","2"]]}`, 1, `scan: field "expect" lists 2 pairs, more than the limit 1`},
		{"scan bad pair key", `{"op":"scan","start":"a","end":"","ts":1,"expect":[["0xb","1"]]}`, 1, `scan: expect[0]: bad key "0xb"`},
		{"scan snapshot not held", `{"op":"scan","start":"a","end":"","ts":1,"snapshot":"x"}`, 1, `scan: snapshot "x" is not held`},
		// snapshot / release.
		{"snapshot name held", takeS1 + putA + "\n" + takeS1, 3, `snapshot: snapshot "s1" is already held (taken on line 1)`},
		{"snapshot empty name", `{"op":"snapshot","name":"","region":` + region + `,"ts":1}`, 1, `snapshot: field "name" must not be empty`},
		{"snapshot missing ts", `{"op":"snapshot","name":"s","region":` + region + `}`, 1, `snapshot: missing field "ts"`},
		{"snapshot bad source", `{"op":"snapshot","name":"s","region":` + region + `,"ts":1,"source":"MEMORY"}`, 1, `snapshot: field "source" must be "memory" or "disk"`},
		{"release not held", `{"op":"release","name":"s1"}`, 1, `release: snapshot "s1" is not held`},
		{"release twice", takeS1 + `{"op":"release","name":"s1"}` + "\n" + `{"op":"release","name":"s1"}`, 3, `release: snapshot "s1" is not held (released on line 2)`},
		{"release name number", `{"op":"release","name":1}`, 1, `release: field "name" must be a string, got 1`},
		// gc / failpoint.
		{"gc zero", `{"op":"gc","safe_point":0}`, 1, `gc: field "safe_point" must be a positive integer, got 0`},
		{"gc missing", `{"op":"gc"}`, 1, `gc: missing field "safe_point"`},
		{"failpoint unknown", `{"op":"failpoint","name":"load/during-copy","action":"pause"}`, 1, `failpoint: unknown failpoint "load/during-copy"`},
		{"failpoint bad action", `{"op":"failpoint","name":"load/before-copy","action":"stop"}`, 1, `failpoint: field "action": bad action "stop"`},
		{"failpoint bad delay", `{"op":"failpoint","name":"load/before-copy","action":"delay:soon"}`, 1, `bad action "delay:soon": bad duration "soon"`},
		{"failpoint zero delay", `{"op":"failpoint","name":"load/before-copy","action":"delay:0s"}`, 1, `bad duration "0s": must be positive`},
		{"failpoint missing action", `{"op":"failpoint","name":"load/before-copy"}`, 1, `failpoint: missing field "action"`},
		// wait / expect / check / sleep.
		{"wait nothing", `{"op":"wait"}`, 1, `wait: needs "until": "idle", "region" and "state", or "failpoint"`},
		{"wait timeout only", `{"op":"wait","timeout":"1s"}`, 1, `wait: needs "until": "idle", "region" and "state", or "failpoint"`},
		{"wait until other", `{"op":"wait","until":"done"}`, 1, `wait: field "until" must be "idle", got "done"`},
		{"wait until and region", `{"op":"wait","until":"idle","region":1,"state":"active"}`, 1, `wait: "region" cannot be combined with "until"`},
		{"wait failpoint and region", pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy","state":"active"}`, 2, `wait: "failpoint" cannot be combined with "state"`},
		{"wait failpoint and until", pauseAfterCopy + `{"op":"wait","until":"idle","count":2}`, 2, `wait: "count" cannot be combined with "until"`},
		{"wait count without failpoint", pauseAfterCopy + `{"op":"wait","count":2}`, 2, `wait: missing field "failpoint"`},
		{"wait failpoint unknown", `{"op":"wait","failpoint":"load/after"}`, 1, `wait: unknown failpoint "load/after": want one of load/before-copy, load/after-copy, evict/before-delete`},
		{"wait failpoint not string", `{"op":"wait","failpoint":1}`, 1, `wait: field "failpoint" must be a string, got 1`},
		{"wait failpoint never paused", `{"op":"wait","failpoint":"load/after-copy"}`, 1, `wait: failpoint "load/after-copy" is not paused: set it to pause on an earlier line`},
		{"wait failpoint other paused", `{"op":"failpoint","name":"load/before-copy","action":"pause"}` + "\n" + `{"op":"wait","failpoint":"load/after-copy"}`, 2, `wait: failpoint "load/after-copy" is not paused`},
		{"wait failpoint resumed", pauseAfterCopy + `{"op":"failpoint","name":"load/after-copy","action":"resume"}` + "\n" + `{"op":"wait","failpoint":"load/after-copy"}`, 3,
			`wait: failpoint "load/after-copy" is not paused (its pause was replaced on line 2)`},
		{"wait failpoint now erroring", pauseAfterCopy + `{"op":"failpoint","name":"load/after-copy","action":"error"}` + "\n" + `{"op":"wait","failpoint":"load/after-copy"}`, 3,
			`(its pause was replaced on line 2)`},
		{"wait failpoint count zero", pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy","count":0}`, 2, `wait: field "count" must be a positive integer, got 0`},
		{"wait failpoint count string", pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy","count":"2"}`, 2, `wait: field "count" must be a positive integer, got "2"`},
		{"wait region without state", `{"op":"wait","region":1}`, 1, `wait: missing field "state"`},
		{"wait state without region", `{"op":"wait","state":"active"}`, 1, `wait: missing field "region"`},
		{"wait unknown state", `{"op":"wait","region":1,"state":"running"}`, 1, `wait: field "state": unknown region state "running"`},
		{"wait region object", `{"op":"wait","region":` + region + `,"state":"active"}`, 1, `wait: field "region" must be a positive integer`},
		{"wait zero timeout", `{"op":"wait","until":"idle","timeout":"0s"}`, 1, `wait: field "timeout": bad duration "0s": must be positive`},
		{"wait numeric timeout", `{"op":"wait","until":"idle","timeout":10}`, 1, `wait: field "timeout" must be a duration string`},
		{"expect nothing", `{"op":"expect"}`, 1, `expect: needs "region" and "state", "counter" and "value", or "memory_at_most"`},
		{"expect two kinds", `{"op":"expect","region":1,"state":"active","counter":"evictions","value":1}`, 1, `expect: "counter" cannot be combined with "region"`},
		{"expect memory and counter", `{"op":"expect","value":1,"memory_at_most":1}`, 1, `expect: "memory_at_most" cannot be combined with "value"`},
		{"expect unknown counter", `{"op":"expect","counter":"loads","value":1}`, 1, `expect: unknown counter "loads"`},
		{"expect counter without value", `{"op":"expect","counter":"evictions"}`, 1, `expect: missing field "value"`},
		{"expect negative value", `{"op":"expect","counter":"evictions","value":-1}`, 1, `expect: field "value" must be a non-negative integer, got -1`},
		{"expect bad memory", `{"op":"expect","memory_at_most":"lots"}`, 1, `expect: field "memory_at_most": bad size "lots"`},
		{"expect region zero", `{"op":"expect","region":0,"state":"absent"}`, 1, `expect: field "region" must be a positive integer, got 0`},
		{"check field", `{"op":"check","region":1}`, 1, `check: unknown field "region"`},
		{"sleep missing for", `{"op":"sleep"}`, 1, `sleep: missing field "for"`},
		{"sleep no unit", `{"op":"sleep","for":"10"}`, 1, `sleep: field "for": bad duration "10"`},
		{"sleep negative", `{"op":"sleep","for":"-1s"}`, 1, `must be positive`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, err := eventlog.ParseNamed("events.jsonl", strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("parsed %d ops, want an error", len(log.Ops))
			}
			var pe *eventlog.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.File != "events.jsonl" || pe.Line != tc.line {
				t.Errorf("at %s:%d, want events.jsonl:%d (%v)", pe.File, pe.Line, tc.line, err)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q\ndoes not contain %q", pe.Msg, tc.msg)
			}
			if want := "events.jsonl:" + strconv.Itoa(tc.line) + ": " + pe.Msg; pe.Position() != want || err.Error() != "regioncache: eventlog: "+want {
				t.Errorf("Position() = %q, Error() = %q; want %q with and without the regioncache: eventlog: prefix", pe.Position(), err.Error(), want)
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	in := strings.Repeat(putA+"\n", 6) + `{"op":"put","key":"a","value":"v"}`
	_, err := eventlog.ParseNamed("events.jsonl", strings.NewReader(in))
	if err == nil || err.Error() != `regioncache: eventlog: events.jsonl:7: put: missing field "ts"` {
		t.Errorf("err = %v", err)
	}
	_, err = eventlog.Parse(strings.NewReader(`{"op":"put","key":"a","tss":1,"value":"v"}`))
	if err == nil || err.Error() != `regioncache: eventlog: -:1: put: unknown field "tss"` {
		t.Errorf("err = %v", err)
	}
	if got := (&eventlog.ParseError{Line: 3, Msg: "bad"}).Position(); got != "3: bad" {
		t.Errorf("no-file form %q", got)
	}
	if got := (&eventlog.ParseError{File: "f", Line: 3, Msg: "bad"}).Position(); got != "f:3: bad" {
		t.Errorf("position %q", got)
	}
}

// TestFirstProblemWins checks that only the first bad line is reported.
func TestFirstProblemWins(t *testing.T) {
	in := putA + "\n" + `{"op":"load"}` + "\n" + `{"op":"nope"}`
	_, err := eventlog.Parse(strings.NewReader(in))
	var pe *eventlog.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("err = %v", err)
	}
}
