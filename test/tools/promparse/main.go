// Reads Prometheus's text exposition format on stdin with the parser Prometheus itself uses
// (github.com/prometheus/common/expfmt) and prints the families as JSON, for the tests of GET
// /metrics (test/support/prom-text.ts). Exits 1 with the parser's error when the text is not valid.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type sample struct {
	Labels  map[string]string `json:"labels"`
	Value   *string           `json:"value,omitempty"`
	Count   *uint64           `json:"count,omitempty"`
	Sum     *string           `json:"sum,omitempty"`
	Buckets map[string]uint64 `json:"buckets,omitempty"`
}

// number keeps NaN and ±Inf, which JSON has no numbers for, as Prometheus writes them.
func number(v float64) *string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	return &s
}

type family struct {
	Name    string   `json:"name"`
	Help    string   `json:"help"`
	Type    string   `json:"type"`
	Samples []sample `json:"samples"`
}

func main() {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := []family{}
	for name, f := range families {
		fam := family{Name: name, Help: f.GetHelp(), Type: f.GetType().String(), Samples: []sample{}}
		for _, m := range f.GetMetric() {
			s := sample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				s.Value = number(m.GetCounter().GetValue())
			case m.Gauge != nil:
				s.Value = number(m.GetGauge().GetValue())
			case m.Untyped != nil:
				s.Value = number(m.GetUntyped().GetValue())
			case m.Histogram != nil:
				h := m.GetHistogram()
				c := h.GetSampleCount()
				s.Count, s.Sum = &c, number(h.GetSampleSum())
				s.Buckets = map[string]uint64{}
				for _, b := range h.GetBucket() {
					s.Buckets[*number(b.GetUpperBound())] = b.GetCumulativeCount()
				}
			case m.Summary != nil:
				c := m.GetSummary().GetSampleCount()
				s.Count, s.Sum = &c, number(m.GetSummary().GetSampleSum())
			}
			fam.Samples = append(fam.Samples, s)
		}
		out = append(out, fam)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
