package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/micro"
)

// Bounds of what top keeps: replies per poll (a flood of fake instances
// cannot grow it further) and rate samples per row for the sparkline.
const (
	topMaxInstances = 1000
	topTrendLength  = 16
	topIDLength     = 8 // instance ids are shown shortened, like git hashes
)

func (c *cli) topCommand() *cobra.Command {
	var (
		interval time.Duration
		count    int
		order    topOrder
	)
	cmd := &cobra.Command{
		Use:   "top [NAME]",
		Short: "Watch every instance and endpoint live: rate, errors, latency, load",
		Long: `Asks every service, or the instances of service NAME, for their STATS at each
interval and shows one row per endpoint of each instance: requests per second
since the last look with a sparkline of the recent rates, the share of errors,
and for natsmux services the p50 and p99 latency, the requests in flight and
those shed (429/503) since the service started. Instance ids are shortened to
their first 8 characters.

On a terminal the view refreshes in place: s sorts by the next column, r
reverses the order, q or Ctrl-C quits. Otherwise top prints a table at each
interval, --count times or until interrupted.`,
		Example: `  micro top
  micro top orders --sort p99
  micro top --count 3 --interval 2s > top.log`,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval < 10*time.Millisecond {
				return usageErrorf(cmd, "--interval must be at least 10ms, got %s", interval)
			}
			if count < 0 {
				return usageErrorf(cmd, "--count must not be negative, got %d", count)
			}
			opts := []micro.DiscoveryOpt{micro.WithDiscoveryMax(topMaxInstances),
				micro.WithDiscoveryQuiet(min(micro.DefaultDiscoveryQuiet, interval/2))}
			if len(args) > 0 {
				opts = append(opts, micro.WithDiscoveryService(args[0]))
			}
			nc, err := c.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			w := &topWatch{nc: nc, opts: opts, interval: interval, order: order, tracker: newTopTracker()}
			if c.isTerminal(c.stdout) {
				return w.live(cmd.Context(), c.stdin, c.stdout)
			}
			return w.plain(cmd.Context(), c.stdout, count)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between two looks")
	cmd.Flags().IntVar(&count, "count", 0, "tables to print when not on a terminal (0: until interrupted)")
	cmd.Flags().Var(&order, "sort", "column to sort by: "+strings.Join(topOrderNames, ", "))
	c.conn.AddFlags(cmd.Flags())
	return cmd
}

// topOrder is a column top sorts by.
type topOrder int

const (
	byRate topOrder = iota
	byErrors
	byP50
	byP99
	byInFlight
	byShed
	byName
)

var topOrderNames = []string{byRate: "rate", byErrors: "errors", byP50: "p50", byP99: "p99",
	byInFlight: "inflight", byShed: "shed", byName: "name"}

// String returns the order's name.
func (o *topOrder) String() string { return topOrderNames[*o] }

// Set parses an order's name, in any case.
func (o *topOrder) Set(s string) error {
	i := slices.Index(topOrderNames, strings.ToLower(s))
	if i < 0 {
		return fmt.Errorf("unknown column %q: want %s", s, strings.Join(topOrderNames, ", "))
	}
	*o = topOrder(i)
	return nil
}

// Type names the flag's value in help.
func (o *topOrder) Type() string { return "column" }

// topKey names one endpoint of one instance.
type topKey struct{ service, id, endpoint string }

// topRow is what top shows of an endpoint. Rate and errPct are NaN until
// two looks have been compared.
type topRow struct {
	topKey
	rate, errPct float64
	load         micro.LoadStats
	hasLoad      bool
	trend        []float64
}

// topTracker turns successive STATS into rates.
type topTracker struct {
	last  time.Time
	prev  map[topKey][2]int // requests, errors at the last look
	trend map[topKey][]float64
}

func newTopTracker() *topTracker {
	return &topTracker{prev: map[topKey][2]int{}, trend: map[topKey][]float64{}}
}

// update compares stats, seen at now, with the last look and returns a row
// per endpoint. Endpoints that are gone are forgotten; counters that went
// down (a Reset, a restart) count from zero.
func (t *topTracker) update(all []micro.Stats, now time.Time) []topRow {
	elapsed := now.Sub(t.last).Seconds()
	prev, trend := t.prev, t.trend
	t.last, t.prev, t.trend = now, map[topKey][2]int{}, map[topKey][]float64{}
	var rows []topRow
	for _, s := range all {
		for _, ep := range s.Endpoints {
			k := topKey{s.Name, s.ID, ep.Name}
			row := topRow{topKey: k, rate: math.NaN(), errPct: math.NaN()}
			row.load, row.hasLoad = ep.LoadStats()
			now := [2]int{ep.NumRequests, ep.NumErrors}
			if before, ok := prev[k]; ok && elapsed > 0 {
				requests, errs := counted(now[0], before[0]), counted(now[1], before[1])
				row.rate = float64(requests) / elapsed
				row.errPct = 0
				if requests > 0 {
					row.errPct = 100 * float64(min(errs, requests)) / float64(requests)
				}
				history := trend[k]
				history = append(history, row.rate)
				row.trend = history[max(0, len(history)-topTrendLength):]
			}
			t.prev[k], t.trend[k] = now, row.trend
			rows = append(rows, row)
		}
	}
	return rows
}

// counted is how much a counter grew from before to now; after a reset it
// counts from zero.
func counted(now, before int) int {
	if now < before {
		return now
	}
	return now - before
}

// sortRows orders rows by the column, largest first (names A to Z), the
// names breaking ties; reverse turns the order around.
func sortRows(rows []topRow, by topOrder, reverse bool) {
	value := func(r topRow) float64 {
		switch by {
		case byRate:
			return r.rate
		case byErrors:
			return r.errPct
		case byP50:
			return float64(r.load.Latency.P50)
		case byP99:
			return float64(r.load.Latency.P99)
		case byInFlight:
			return float64(r.load.InFlight)
		case byShed:
			return float64(r.load.Shed)
		default:
			return 0
		}
	}
	slices.SortStableFunc(rows, func(a, b topRow) int {
		va, vb := value(a), value(b)
		// NaN (not yet known) sorts last.
		order := cmp.Or(-cmp.Compare(nanAsLowest(va), nanAsLowest(vb)),
			cmp.Compare(a.service, b.service), cmp.Compare(a.id, b.id), cmp.Compare(a.endpoint, b.endpoint))
		if reverse {
			return -order
		}
		return order
	})
}

func nanAsLowest(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(-1)
	}
	return v
}

// renderTop writes the rows as a table.
func renderTop(w io.Writer, rows []topRow) error {
	t := newTable(w, "SERVICE", "ID", "ENDPOINT", "RATE/S", "ERR%", "P50", "P99", "IN FLIGHT", "SHED", "TREND")
	for _, r := range rows {
		load := []string{"-", "-", "-", "-"}
		if r.hasLoad {
			load = []string{formatDuration(r.load.Latency.P50), formatDuration(r.load.Latency.P99),
				strconv.FormatInt(r.load.InFlight, 10), strconv.FormatUint(r.load.Shed, 10)}
		}
		id := r.id[:min(len(r.id), topIDLength)]
		t.row(append([]string{r.service, id, r.endpoint,
			formatRate(r.rate), formatRate(r.errPct)}, append(load, sparkline(r.trend))...)...)
	}
	return t.flush()
}

func formatRate(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// sparkline draws values as bars from the lowest to the highest block,
// scaled to the largest value.
func sparkline(values []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	blocks := []rune(bars)
	top := slices.Max(append([]float64{0}, values...))
	var b strings.Builder
	for _, v := range values {
		i := 0
		if top > 0 {
			i = int(math.Round(v / top * float64(len(blocks)-1)))
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}

// topWatch polls STATS and keeps the order of the rows. Only poll runs
// away from the live view's event loop, and it leaves the order alone.
type topWatch struct {
	nc       *nats.Conn
	opts     []micro.DiscoveryOpt
	interval time.Duration
	order    topOrder
	reverse  bool
	tracker  *topTracker
}

// poll takes one look, returning the rows unsorted. A reply that does not
// decode is reported with the rows of the others.
func (w *topWatch) poll(ctx context.Context) ([]topRow, error) {
	ctx, cancel := context.WithTimeout(ctx, max(w.interval, micro.DefaultDiscoveryQuiet))
	defer cancel()
	stats, err := micro.DiscoverStats(ctx, w.nc, w.opts...)
	return w.tracker.update(stats, time.Now()), err
}

func (w *topWatch) sort(rows []topRow) {
	sortRows(rows, w.order, w.reverse)
}

// title is the line above the table.
func (w *topWatch) title(rows []topRow) string {
	instances := map[string]bool{}
	for _, r := range rows {
		instances[r.id] = true
	}
	order := w.order.String()
	if w.reverse {
		order += ", reversed"
	}
	return fmt.Sprintf("micro top: %s, %s, every %s, sorted by %s",
		quantity(len(instances), "instance"), quantity(len(rows), "endpoint"), w.interval, order)
}

// quantity says "1 endpoint", "2 endpoints".
func quantity(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// plain prints a table at each interval, count times (0: until ctx ends).
func (w *topWatch) plain(ctx context.Context, out io.Writer, count int) error {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for i := 0; count == 0 || i < count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
		}
		rows, err := w.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.sort(rows)
		if i > 0 {
			_, _ = fmt.Fprintln(out)
		}
		_, _ = fmt.Fprintln(out, w.title(rows))
		if err != nil {
			_, _ = fmt.Fprintln(out, "error:", printable(err.Error()))
		}
		if err := renderTop(out, rows); err != nil {
			return err
		}
	}
	return nil
}

// live runs the refreshing terminal view until q, Ctrl-C or ctx's end.
func (w *topWatch) live(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends a poll still under way
	m := &topModel{watch: w, ctx: ctx}
	_, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)).Run()
	if ctx.Err() != nil && err != nil {
		return nil // interrupted from outside: a normal end
	}
	return err
}

// topModel is the bubbletea model of the live view.
type topModel struct {
	watch *topWatch
	ctx   context.Context
	rows  []topRow
	err   error
	ready bool
}

// topLooked carries the result of a poll; topTick asks for the next one.
type (
	topLooked struct {
		rows []topRow
		err  error
	}
	topTick struct{}
)

func (m *topModel) look() tea.Msg {
	rows, err := m.watch.poll(m.ctx)
	return topLooked{rows, err}
}

func (m *topModel) Init() tea.Cmd { return m.look }

func (m *topModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "s":
			m.watch.order = (m.watch.order + 1) % topOrder(len(topOrderNames))
			m.watch.sort(m.rows)
		case "r":
			m.watch.reverse = !m.watch.reverse
			m.watch.sort(m.rows)
		}
	case tea.InterruptMsg:
		return m, tea.Quit
	case topLooked:
		m.rows, m.err, m.ready = msg.rows, msg.err, true
		m.watch.sort(m.rows)
		return m, tea.Tick(m.watch.interval, func(time.Time) tea.Msg { return topTick{} })
	case topTick:
		return m, m.look
	}
	return m, nil
}

func (m *topModel) View() tea.View {
	var b strings.Builder
	b.WriteString(m.watch.title(m.rows) + "\n")
	switch {
	case m.err != nil:
		b.WriteString("error: " + printable(m.err.Error()) + "\n")
	case !m.ready:
		b.WriteString("looking...\n")
	}
	b.WriteString("\n")
	_ = renderTop(&b, m.rows)
	b.WriteString("\ns: sort by the next column  r: reverse  q: quit\n")
	v := tea.NewView(b.String())
	v.AltScreen = true
	return v
}
