// Package promtest reads gathered Prometheus metrics back for tests.
package promtest

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// HistogramCounts returns the sample count of every histogram series, by
// name{label="value",...}.
func HistogramCounts(g prometheus.Gatherer) (map[string]uint64, error) {
	families, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
				}
				out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = h.GetSampleCount()
			}
		}
	}
	return out, nil
}
