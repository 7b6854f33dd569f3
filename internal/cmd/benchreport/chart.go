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
	labelWidth  = 200
	barHeight   = 16
	barGap      = 5
	panelTop    = 34
	panelBottom = 28
	valueRoom   = 60 // right of the longest bar, for its label
)

// bar is one labelled bar of a panel, in our colour or the baselines'.
type bar struct {
	label string
	ratio float64
	ours  bool
}

// stackChart draws, for each scenario, a bar per responder with its
// throughput relative to the raw nats.go responder.
func stackChart(tables [][]loadgen.Result) []byte {
	panels := make([][]bar, len(tables))
	titles := make([]string, len(tables))
	for i, res := range tables {
		titles[i] = scenarios[i].name + ": throughput relative to raw nats.go"
		for j, r := range res {
			ours := !strings.HasPrefix(responders[j], "raw") && !strings.HasPrefix(responders[j], "nats.go")
			panels[i] = append(panels[i], bar{responders[j], loadgen.Ratio(r, res[0]), ours})
		}
	}
	return svg(titles, panels, "1x raw")
}

// mixChart draws, for each mix, natsmux micro's and the inline raw
// responder's throughput relative to a goroutine per message.
func mixChart(tables [][]loadgen.Result) []byte {
	var pairs []bar
	for i, res := range tables {
		pairs = append(pairs,
			bar{loadgen.Mixes[i].Title, loadgen.Ratio(res[1], res[0]), true},
			bar{"  raw nats.go, inline", loadgen.Ratio(res[2], res[0]), false})
	}
	return svg([]string{"Mixes of fast and slow requests: throughput relative to a goroutine per message"}, [][]bar{pairs}, "1x")
}

func svg(titles []string, panels [][]bar, baseline string) []byte {
	heights := make([]int, len(panels))
	total := 0
	for i, p := range panels {
		heights[i] = panelTop + len(p)*(barHeight+barGap) + panelBottom
		total += heights[i]
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, total)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	top := 0
	for i, p := range panels {
		panel(&b, top, titles[i], p, baseline)
		top += heights[i]
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func panel(b *strings.Builder, top int, title string, bars []bar, baseline string) {
	maxRatio := 1.0
	for _, br := range bars {
		maxRatio = max(maxRatio, br.ratio)
	}
	scale := float64(chartWidth-labelWidth-valueRoom) / maxRatio
	fmt.Fprintf(b, `<text x="10" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", top+20, html.EscapeString(title))
	for i, br := range bars {
		y := top + panelTop + i*(barHeight+barGap)
		fill := "#9aa5b1"
		if br.ours {
			fill = "#2f7ed8"
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+12, html.EscapeString(br.label))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelWidth, y, br.ratio*scale, barHeight, fill)
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%.2fx</text>`+"\n", float64(labelWidth)+br.ratio*scale+6, y+12, br.ratio)
	}
	x1 := float64(labelWidth) + scale
	bottom := top + panelTop + len(bars)*(barHeight+barGap)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4 3"/>`+"\n", x1, top+panelTop-4, x1, bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`+"\n", x1, bottom+14, baseline)
}
