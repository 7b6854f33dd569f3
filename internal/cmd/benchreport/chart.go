package main

import (
	"fmt"
	"html"
	"strings"

	"github.com/natsmux/natsmux/internal/loadgen"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 760
	labelWidth  = 170
	barHeight   = 18
	barGap      = 6
	panelTop    = 34
	panelBottom = 28
	valueRoom   = 60 // right of the longest bar, for its label
)

// chart draws, for each scenario, a horizontal bar per responder with its
// throughput relative to the raw nats.go responder.
func chart(tables [][]loadgen.Result) []byte {
	panelHeight := panelTop + len(responders)*(barHeight+barGap) + panelBottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, panelHeight*len(tables))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	for i, res := range tables {
		panel(&b, i*panelHeight, scenarios[i].name, res)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func panel(b *strings.Builder, top int, title string, res []loadgen.Result) {
	ratios := make([]float64, len(res))
	maxRatio := 1.0
	for i, r := range res {
		ratios[i] = loadgen.Ratio(r, res[0])
		maxRatio = max(maxRatio, ratios[i])
	}
	plotWidth := float64(chartWidth - labelWidth - valueRoom)
	scale := plotWidth / maxRatio
	fmt.Fprintf(b, `<text x="10" y="%d" font-size="14" font-weight="bold">%s: throughput relative to raw nats.go</text>`+"\n",
		top+20, html.EscapeString(title))
	for i, ratio := range ratios {
		y := top + panelTop + i*(barHeight+barGap)
		fill := "#9aa5b1"
		if strings.HasPrefix(responders[i], "natsmux") || strings.HasPrefix(responders[i], "router") || strings.HasPrefix(responders[i], "typed") {
			fill = "#2f7ed8"
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+13, html.EscapeString(responders[i]))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelWidth, y, ratio*scale, barHeight, fill)
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%.2fx</text>`+"\n", float64(labelWidth)+ratio*scale+6, y+13, ratio)
	}
	x1 := float64(labelWidth) + scale // the raw baseline
	bottom := top + panelTop + len(ratios)*(barHeight+barGap)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4 3"/>`+"\n", x1, top+panelTop-4, x1, bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">1x raw</text>`+"\n", x1, bottom+14)
}
