package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// Order and Receipt are shared by the shop and its callers; every rule of
// Order is one its published schema states.
type Order struct {
	SKU   string `json:"sku" validate:"required,min=3"`
	Qty   int    `json:"qty" validate:"required,gte=1"`
	Kind  string `json:"kind,omitempty" validate:"omitempty,oneof=retail wholesale"`
	Email string `json:"email,omitempty" validate:"omitempty,email"`
}

type Receipt struct {
	SKU   string `json:"sku"`
	Cents int    `json:"cents"`
}

// shop serves orders and counts them.
type shop struct{ served atomic.Int32 }

func (s *shop) order(_ context.Context, o *Order) (*Receipt, error) {
	s.served.Add(1)
	return &Receipt{SKU: o.SKU, Cents: 100 * o.Qty}, nil
}

func (s *shop) router() *natsmux.Router {
	r := natsmux.NewRouter()
	r.Handle("order", binding.JSON(s.order), natsmux.WithSubject("shop.order"))
	r.Handle("reorder", binding.JSON(s.order), natsmux.WithSubject("shop.{id}.reorder"))
	return r
}

// countMessages counts the messages sent to subjects, such as INFO
// requests. Each count is taken after a round trip to the server, so that
// every message published before it is in.
func countMessages(t *testing.T, nc *nats.Conn, subjects ...string) func() int {
	t.Helper()
	var subs []*nats.Subscription
	for _, subject := range subjects {
		sub, err := nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() int {
		t.Helper()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, sub := range subs {
			n, _, err := sub.Pending()
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		return total
	}
}

func countInfoRequests(t *testing.T, srv *microtest.Server) func() int {
	return countMessages(t, srv.Connect(t), "$SRV.INFO", "$SRV.INFO.>")
}

// warnings records schema warnings.
type warnings struct {
	mu   sync.Mutex
	list []client.SchemaWarning
}

func (w *warnings) record(_ context.Context, sw client.SchemaWarning) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, sw)
}

func (w *warnings) all() []client.SchemaWarning {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// sortedFields returns the field errors of err, sorted by field.
func sortedFields(err error) []binding.FieldError {
	fields := binding.FieldErrors(err)
	slices.SortFunc(fields, func(a, b binding.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return fields
}

// TestSchemaValidationRequest: a request that breaks the published schema
// fails before it is sent, with the 400 and the field errors the service
// would have answered with; on a subject with a template too.
func TestSchemaValidationRequest(t *testing.T) {
	s := &shop{}
	e := newEnv(t, s.router(), micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t, client.WithSchemaValidation())
	ctx := context.Background()

	tests := []struct {
		name string
		in   Order
	}{
		{"sku too short", Order{SKU: "ab", Qty: 1}},
		{"qty below its bound", Order{SKU: "tea", Qty: -1}},
		{"kind outside the enum", Order{SKU: "tea", Qty: 1, Kind: "gift"}},
		{"email", Order{SKU: "tea", Qty: 1, Email: "nobody"}},
		{"several fields", Order{SKU: "ab", Qty: -2, Kind: "gift"}},
	}
	for _, subject := range []string{"shop.order", "shop.42.reorder"} {
		for _, tt := range tests {
			t.Run(subject+"/"+tt.name, func(t *testing.T) {
				before := s.served.Load()
				_, local := client.Call[Order, Receipt](ctx, c, subject, &tt.in)
				if s.served.Load() != before {
					t.Fatalf("the invalid request reached the service: %v", local)
				}
				_, remote := client.Call[Order, Receipt](ctx, c, subject, &tt.in, client.WithValidation(false))
				if s.served.Load() != before {
					t.Fatalf("the service served an invalid request: %v", remote)
				}
				if natsmux.CodeOf(local) != 400 || !errors.Is(local, client.ErrInvalidRequest) || errors.Is(remote, client.ErrInvalidRequest) {
					t.Fatalf("local %v, remote %v", local, remote)
				}
				fields := binding.FieldErrors(local)
				if len(fields) == 0 || !slices.IsSortedFunc(fields, func(a, b binding.FieldError) int { return strings.Compare(a.Field, b.Field) }) {
					t.Fatalf("field errors %+v of %v: want some, sorted by field", fields, local)
				}
				if diff := cmp.Diff(sortedFields(remote), sortedFields(local)); diff != "" {
					t.Errorf("field errors (-service +client):\n%s", diff)
				}
			})
		}
	}
	got, err := client.Call[Order, Receipt](ctx, c, "shop.42.reorder", &Order{SKU: "tea", Qty: 2, Kind: "retail"})
	if err != nil || got.Cents != 200 || s.served.Load() != 1 {
		t.Errorf("a valid request: %+v, %v, served %d", got, err, s.served.Load())
	}
	// An empty payload is not checked: what it means is the service's
	// business (a typed endpoint reads it as {}).
	_, err = client.Call[Order, Receipt](ctx, c, "shop.order", nil)
	if natsmux.CodeOf(err) != 400 || errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("an empty request: %v, want the service's 400", err)
	}
	// A raw request is checked too.
	_, err = c.Request(ctx, "shop.order", []byte(`{"sku":"tea","qty":"two"}`), nil)
	if fe := binding.FieldErrors(err); len(fe) != 1 || fe[0].Field != "qty" || fe[0].Rule != "type" || fe[0].Message != "qty must be of type integer" {
		t.Errorf("a raw request of the wrong type: %v, %+v", err, fe)
	}
}

// TestSchemaValidationReply: a reply that breaks the published response
// schema fails with a 502 that names the field.
func TestSchemaValidationReply(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("order", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply([]byte(`{"sku":"tea","cents":"free"}`)), nil
	}, natsmux.WithSubject("shop.order"), natsmux.WithMetadata(binding.SchemaMetadata[Order, Receipt]()))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t, client.WithSchemaValidation())
	ctx := context.Background()

	_, err := client.Call[Order, Receipt](ctx, c, "shop.order", &Order{SKU: "tea", Qty: 1})
	if natsmux.CodeOf(err) != 502 || !errors.Is(err, client.ErrInvalidReply) {
		t.Fatalf("got %v, want a 502 invalid reply", err)
	}
	want := []binding.FieldError{{Field: "cents", Rule: "type", Param: "integer", Message: "cents must be of type integer"}}
	if diff := cmp.Diff(want, binding.FieldErrors(errors.Unwrap(err))); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	var e502 *natsmux.Error
	if !errors.As(err, &e502) || e502.Description != `invalid reply from "shop.order": cents must be of type integer` {
		t.Errorf("description of %v", err)
	}
	// Unchecked, the same reply fails to decode: a 500 that says less.
	_, err = client.Call[Order, Receipt](ctx, c, "shop.order", &Order{SKU: "tea", Qty: 1}, client.WithValidation(false))
	if natsmux.CodeOf(err) != 500 || errors.Is(err, client.ErrInvalidReply) {
		t.Errorf("unchecked: %v", err)
	}
}

// TestSchemaValidationOff: without the options no INFO request is made;
// with them, one for all the calls.
func TestSchemaValidationOff(t *testing.T) {
	s := &shop{}
	e := newEnv(t, s.router(), micro.Config{Name: "shop", Version: "1.0.0"})
	infos := countInfoRequests(t, e.srv)
	ctx := context.Background()
	valid, invalid := &Order{SKU: "tea", Qty: 1}, &Order{SKU: "ab", Qty: 1}

	for _, c := range []*client.Client{e.client(t), e.client(t, client.WithSchemaValidation())} {
		for range 3 {
			_, err := client.Call[Order, Receipt](ctx, c, "shop.order", invalid, client.WithValidation(false))
			if natsmux.CodeOf(err) != 400 || errors.Is(err, client.ErrInvalidRequest) {
				t.Errorf("checked with WithValidation(false): %v", err)
			}
		}
	}
	plain := e.client(t)
	for range 3 {
		_, _ = client.Call[Order, Receipt](ctx, plain, "shop.order", valid)
		_, _ = plain.Request(ctx, "shop.order", []byte(`{"sku":"tea","qty":1}`), nil)
		_, _ = plain.Request(ctx, "shop.order", []byte(`{}`), nil)
	}
	if n := infos(); n != 0 || s.served.Load() != 6 {
		t.Fatalf("%d INFO requests, %d served, without validation; want 0 and 6", n, s.served.Load())
	}
	for range 3 {
		_, err := client.Call[Order, Receipt](ctx, plain, "shop.order", invalid, client.WithValidation(true))
		if !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("WithValidation(true): %v", err)
		}
	}
	if n := infos(); n != 1 || s.served.Load() != 6 {
		t.Errorf("%d INFO requests, %d served, after three checked calls; want 1 and 6", n, s.served.Load())
	}
}

// OrderV2 is the order of the shop's second version, which takes orders of
// zero items (to reserve a SKU, say): a compatible change.
type OrderV2 struct {
	SKU string `json:"sku" validate:"required,min=3"`
	Qty int    `json:"qty" validate:"gte=0"`
}

// TestSchemaRefresh: a call that a cached schema fails makes the client
// fetch the service's INFO again, at most once per refresh interval, and
// a new version's schema decides.
func TestSchemaRefresh(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	infos := countInfoRequests(t, srv)
	v1 := microtest.AddService(t, nc, micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(v1, (&shop{}).router()); err != nil {
		t.Fatal(err)
	}
	newClient := func(refresh time.Duration) *client.Client {
		c, err := client.New(srv.Connect(t), client.WithSchemaValidation(client.WithSchemaRefresh(refresh)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	eager, patient := newClient(0), newClient(time.Hour)
	ctx := context.Background()
	reserve := &Order{SKU: "tea", Qty: 0}

	// Version 1 wants at least one item. The eager client asks again
	// before it fails the call (it finds the same schema); the patient
	// one asks once, however many calls fail.
	_, err := client.Call[Order, Receipt](ctx, eager, "shop.order", reserve)
	if !errors.Is(err, client.ErrInvalidRequest) || infos() != 2 {
		t.Fatalf("eager, version 1: %v after %d INFO requests; want a local 400 after 2", err, infos())
	}
	for range 50 {
		if _, err := client.Call[Order, Receipt](ctx, patient, "shop.order", reserve); !errors.Is(err, client.ErrInvalidRequest) {
			t.Fatalf("patient, version 1: %v", err)
		}
	}
	if n := infos(); n != 3 {
		t.Fatalf("%d INFO requests after 50 failed calls of the patient client, want 3", n)
	}

	// Version 2 replaces version 1.
	if err := v1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var served atomic.Int32
	r := natsmux.NewRouter()
	r.Handle("order", binding.JSON(func(_ context.Context, o *OrderV2) (*Receipt, error) {
		served.Add(1)
		return &Receipt{SKU: o.SKU}, nil
	}), natsmux.WithSubject("shop.order"))
	v2 := microtest.AddService(t, nc, micro.Config{Name: "shop", Version: "2.0.0"})
	if err := natsmux.Mount(v2, r); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Call[Order, Receipt](ctx, eager, "shop.order", reserve); err != nil || got.SKU != "tea" || served.Load() != 1 {
		t.Fatalf("eager, version 2: %+v, %v, served %d", got, err, served.Load())
	}
	if n := infos(); n != 4 {
		t.Errorf("%d INFO requests, want 4: one more to find version 2", n)
	}
	// The patient client still has version 1's schema, until it is told.
	if _, err := client.Call[Order, Receipt](ctx, patient, "shop.order", reserve); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("patient, before LoadSchemas: %v", err)
	}
	if err := patient.LoadSchemas(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Call[Order, Receipt](ctx, patient, "shop.order", reserve); err != nil || served.Load() != 2 {
		t.Errorf("patient, after LoadSchemas: %v, served %d", err, served.Load())
	}
}

// Code has a rule that its schema does not state: uppercase.
type Code struct {
	Code string `json:"code" validate:"required,min=3,uppercase"`
}

// TestSchemaRefreshOnServiceError: a 400 from the service for a request
// that the cached schema accepts makes the client fetch the service's INFO
// again, at most once per refresh interval: the service may have changed
// its schema.
func TestSchemaRefreshOnServiceError(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("redeem", binding.JSON(func(_ context.Context, c *Code) (*Code, error) { return c, nil }))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	infos := countInfoRequests(t, e.srv)
	for _, tt := range []struct {
		refresh time.Duration
		want    int // INFO requests
	}{{0, 4}, {time.Hour, 1}} {
		c := e.client(t, client.WithSchemaValidation(client.WithSchemaRefresh(tt.refresh)))
		before := infos()
		for range 3 {
			_, err := client.Call[Code, Code](context.Background(), c, "redeem", &Code{Code: "abc"})
			if fe := binding.FieldErrors(err); len(fe) != 1 || fe[0].Rule != "uppercase" || errors.Is(err, client.ErrInvalidRequest) {
				t.Fatalf("got %v, want the service's 400", err)
			}
		}
		if n := infos() - before; n != tt.want {
			t.Errorf("refresh %s: %d INFO requests, want %d", tt.refresh, n, tt.want)
		}
	}
}

// TestSchemaLateService: a subject that no endpoint served when the
// schemas were fetched makes the client fetch them again, once the
// refresh interval has passed, so that a service started after the client
// is checked too.
func TestSchemaLateService(t *testing.T) {
	srv := microtest.NewServer(t)
	infos := countInfoRequests(t, srv)
	c, err := client.New(srv.Connect(t), client.WithSchemaValidation(client.WithSchemaRefresh(0)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	invalid := &Order{SKU: "ab", Qty: 1}
	if _, err := client.Call[Order, Receipt](ctx, c, "shop.order", invalid); natsmux.CodeOf(err) != 503 {
		t.Fatalf("before the service: %v", err)
	}
	s := &shop{}
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc, s.router()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Call[Order, Receipt](ctx, c, "shop.order", invalid); !errors.Is(err, client.ErrInvalidRequest) || s.served.Load() != 0 {
		t.Errorf("after the service started: %v, served %d", err, s.served.Load())
	}
	if n := infos(); n != 3 {
		t.Errorf("%d INFO requests, want 3: all, all again for the miss, the service's before failing", n)
	}
}

// Caller's types that disagree with the shop's: the caller does not know
// that qty is required, and reads cents as text.
type (
	OrderLite struct {
		SKU string `json:"sku" validate:"required,min=3"`
	}
	ReceiptText struct {
		Cents string `json:"cents"`
	}
)

// TestSchemaWarnings: a caller's types that disagree with the published
// schemas give one warning per version of the endpoint; types that agree
// give none.
func TestSchemaWarnings(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	start := func(version string) micro.Service {
		svc := microtest.AddService(t, nc, micro.Config{Name: "shop", Version: version})
		if err := natsmux.Mount(svc, (&shop{}).router()); err != nil {
			t.Fatal(err)
		}
		return svc
	}
	v1 := start("1.0.0")
	var seen warnings
	c, err := client.New(srv.Connect(t), client.WithSchemaValidation(client.WithSchemaWarnings(seen.record), client.WithSchemaRefresh(0)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := client.Call[Order, Receipt](ctx, c, "shop.order", &Order{SKU: "tea", Qty: 1}); err != nil {
			t.Fatal(err)
		}
		// The published schema requires qty, which OrderLite lacks.
		if _, err := client.Call[OrderLite, ReceiptText](ctx, c, "shop.order", &OrderLite{SKU: "tea"}); !errors.Is(err, client.ErrInvalidRequest) {
			t.Fatalf("OrderLite: %v", err)
		}
	}
	want := []client.SchemaWarning{{
		Service: "shop", Version: "1.0.0", Endpoint: "order", Subject: "shop.order", Types: "OrderLite -> ReceiptText",
		Request:  []string{"qty: is now required"},
		Response: []string{"cents: type integer may now be sent"},
	}}
	if diff := cmp.Diff(want, seen.all()); diff != "" {
		t.Fatalf("warnings (-want +got):\n%s", diff)
	}

	// A new version that still disagrees warns again, once.
	if err := v1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	start("1.1.0")
	for range 2 {
		// The failure makes the client look at INFO again.
		_, _ = client.Call[OrderLite, ReceiptText](ctx, c, "shop.order", &OrderLite{SKU: "tea"})
	}
	want = append(want, want[0])
	want[1].Version = "1.1.0"
	if diff := cmp.Diff(want, seen.all()); diff != "" {
		t.Errorf("warnings after the upgrade (-want +got):\n%s", diff)
	}
}

// TestSchemaUntypedCallers: types that say nothing of their JSON are not
// compared with the published schemas, and their calls are checked all
// the same.
func TestSchemaUntypedCallers(t *testing.T) {
	e := newEnv(t, (&shop{}).router(), micro.Config{Name: "shop", Version: "1.0.0"})
	var seen warnings
	c := e.client(t, client.WithSchemaValidation(client.WithSchemaWarnings(seen.record)))
	ctx := context.Background()
	valid := json.RawMessage(`{"sku":"tea","qty":1}`)
	if got, err := client.Call[json.RawMessage, any](ctx, c, "shop.order", &valid); err != nil || fmt.Sprint(*got) != "map[cents:100 sku:tea]" {
		t.Errorf("a valid raw order: %v, %v", got, err)
	}
	invalid := json.RawMessage(`{"sku":"tea"}`)
	if _, err := client.Call[json.RawMessage, any](ctx, c, "shop.order", &invalid); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("an invalid raw order: %v", err)
	}
	if got := seen.all(); len(got) != 0 {
		t.Errorf("warnings %+v", got)
	}
}

// TestSchemaWarningLog: without a function of WithSchemaWarnings,
// warnings go to slog.Default() at Warn.
func TestSchemaWarningLog(t *testing.T) {
	e := newEnv(t, (&shop{}).router(), micro.Config{Name: "shop", Version: "1.0.0"})
	var out testutil.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, nil)))
	c := e.client(t, client.WithSchemaValidation(client.WithSchemaWarnings(nil)))
	_, _ = client.Call[OrderLite, ReceiptText](context.Background(), c, "shop.order", &OrderLite{SKU: "tea"})
	for _, part := range []string{"level=WARN", `msg="nats schema mismatch"`, "service=shop", "version=1.0.0", "endpoint=order",
		`types="OrderLite -> ReceiptText"`, `request="qty: is now required"`, `response="cents: type integer may now be sent"`} {
		if !strings.Contains(out.String(), part) {
			t.Errorf("the log lacks %s:\n%s", part, out.String())
		}
	}
}

// ReceiptV2 is the receipt of a second version that adds a currency,
// which it always sends: a compatible change of the reply.
type ReceiptV2 struct {
	SKU      string `json:"sku"`
	Cents    int    `json:"cents"`
	Currency string `json:"currency" validate:"required"`
}

// TestSchemaRollingUpgrade: while two versions serve an endpoint, a reply
// is valid if one of their schemas accepts it, so that the replies of the
// instances not yet upgraded do not fail.
func TestSchemaRollingUpgrade(t *testing.T) {
	srv := microtest.NewServer(t)
	v1, v2 := &shop{}, &atomic.Int32{}
	svc1 := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc1, v1.router()); err != nil {
		t.Fatal(err)
	}
	r := natsmux.NewRouter()
	r.Handle("order", binding.JSON(func(_ context.Context, o *Order) (*ReceiptV2, error) {
		v2.Add(1)
		return &ReceiptV2{SKU: o.SKU, Cents: 100 * o.Qty, Currency: "EUR"}, nil
	}), natsmux.WithSubject("shop.order"))
	svc2 := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "2.0.0"})
	if err := natsmux.Mount(svc2, r); err != nil {
		t.Fatal(err)
	}
	// A second instance of version 1 publishes the same schemas.
	svc3 := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc3, v1.router()); err != nil {
		t.Fatal(err)
	}
	var seen warnings
	// Stop at the third reply, however slowly the instances answer.
	c, err := client.New(srv.Connect(t), client.WithSchemaValidation(client.WithSchemaWarnings(seen.record),
		client.WithSchemaDiscovery(micro.WithDiscoveryMax(3), micro.WithDiscoveryQuiet(5*time.Second))))
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the instances to answer INFO, as a caller would at
	// start-up.
	testutil.Eventually(t, 5*time.Second, func() bool {
		infos, _ := c.Info(context.Background(), micro.WithDiscoveryService("shop"))
		return len(infos) == 3
	}, "three instances")
	if err := c.LoadSchemas(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := client.Call[Order, ReceiptV2](context.Background(), c, "shop.order", &Order{SKU: "tea", Qty: 1}); err != nil {
			t.Fatalf("call %d: %v (served by 1.0.0 %d, 2.0.0 %d)", i, err, v1.served.Load(), v2.Load())
		}
	}
	// The caller, built for version 2, is warned about version 1 only.
	want := []client.SchemaWarning{{Service: "shop", Version: "1.0.0", Endpoint: "order", Subject: "shop.order",
		Types: "Order -> ReceiptV2", Response: []string{"currency: is no longer always sent"}}}
	if diff := cmp.Diff(want, seen.all()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestSchemaUnusable: a published schema that is no JSON Schema is
// reported once, and the calls go unchecked.
func TestSchemaUnusable(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	}, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"type":12}`, binding.ResponseSchemaKey: `{"type":"object"`}))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	var seen warnings
	c := e.client(t, client.WithSchemaValidation(client.WithSchemaWarnings(seen.record)))
	for range 3 {
		if reply, err := c.Request(context.Background(), "echo", []byte(`[1]`), nil); err != nil || string(reply.Data) != "[1]" {
			t.Fatalf("%v, %v", reply, err)
		}
	}
	got := seen.all()
	if len(got) != 2 {
		t.Fatalf("%d warnings, want 2: %+v", len(got), got)
	}
	for i, dir := range []string{"request", "response"} {
		if got[i].Endpoint != "echo" || got[i].Err == nil || !strings.Contains(got[i].Err.Error(), "the "+dir+" schema is no valid JSON Schema") {
			t.Errorf("warning %d: %+v", i, got[i])
		}
	}
}

// TestSchemaChain: the check sits at the end of the client's middleware,
// so that middleware sees a local failure as it sees the service's, and a
// request that fails is not retried.
func TestSchemaChain(t *testing.T) {
	s := &shop{}
	r := natsmux.NewRouter()
	r.Handle("order", binding.JSON(s.order), natsmux.WithSubject("shop.order"), natsmux.WithIdempotent())
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	var out testutil.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	var attempts atomic.Int32
	count := func(next client.Invoker) client.Invoker {
		return client.InvokerFunc(func(ctx context.Context, inv *client.Invocation) (*nats.Msg, error) {
			attempts.Add(1)
			return next.Invoke(ctx, inv)
		})
	}
	c := e.client(t, client.WithSchemaValidation(), client.WithMiddleware(
		client.Logger(client.WithLogger(logger)), client.Resilience(), count))
	_, err := client.Call[Order, Receipt](context.Background(), c, "shop.order", &Order{SKU: "ab", Qty: 1})
	if !errors.Is(err, client.ErrInvalidRequest) || attempts.Load() != 1 || s.served.Load() != 0 {
		t.Fatalf("%v after %d attempts, served %d", err, attempts.Load(), s.served.Load())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(out.String()), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "WARN" || rec["code"] != 400.0 || !strings.Contains(fmt.Sprint(rec["error"]), "sku must be at least 3 characters long") {
		t.Errorf("log record %v", rec)
	}
}

// TestLoadSchemas: LoadSchemas of one service keeps what it published when
// no instance answers; LoadSchemas of all forgets it.
func TestLoadSchemas(t *testing.T) {
	e := newEnv(t, (&shop{}).router(), micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t, client.WithSchemaValidation(client.WithSchemaRefresh(time.Hour)))
	ctx := context.Background()
	if err := c.LoadSchemas(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	invalid := &Order{SKU: "ab", Qty: 1}
	if err := c.LoadSchemas(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Call[Order, Receipt](ctx, c, "shop.order", invalid); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("after LoadSchemas(shop) without an answer: %v, want the local 400", err)
	}
	if err := c.LoadSchemas(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Call[Order, Receipt](ctx, c, "shop.order", invalid); natsmux.CodeOf(err) != 503 {
		t.Errorf("after LoadSchemas() without an answer: %v, want unchecked and a 503", err)
	}
}

// TestSchemaInfoError: an INFO request that fails is reported, the calls
// go on unchecked, and the next request waits for the refresh interval.
func TestSchemaInfoError(t *testing.T) {
	s := &shop{}
	e := newEnv(t, s.router(), micro.Config{Name: "shop", Version: "1.0.0"})
	var seen warnings
	c := e.client(t, client.WithSchemaValidation(client.WithSchemaWarnings(seen.record),
		client.WithSchemaDiscovery(micro.WithDiscoveryQuiet(0))))
	for range 3 {
		_, err := client.Call[Order, Receipt](context.Background(), c, "shop.order", &Order{SKU: "ab", Qty: 1})
		if natsmux.CodeOf(err) != 400 || errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("got %v, want the service's 400", err)
		}
	}
	// Once: the refresh interval passes before the next question.
	got := seen.all()
	if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != "client: fetching schemas: discovery: quiet interval must be positive, got 0s" {
		t.Errorf("warnings %+v", got)
	}
}

// TestSchemaFetchedOnce: calls that start together, before the client has
// the schemas, wait for one INFO request; a cancelled call does not wait.
func TestSchemaFetchedOnce(t *testing.T) {
	s := &shop{}
	e := newEnv(t, s.router(), micro.Config{Name: "shop", Version: "1.0.0"})
	infos := countInfoRequests(t, e.srv)
	c := e.client(t, client.WithSchemaValidation())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.Call[Order, Receipt](cancelled, c, "shop.order", &Order{SKU: "ab", Qty: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := client.Call[Order, Receipt](context.Background(), c, "shop.order", &Order{SKU: "ab", Qty: 1}); !errors.Is(err, client.ErrInvalidRequest) {
				t.Errorf("got %v, want a local 400", err)
			}
		})
	}
	wg.Wait()
	if n := infos(); n != 1 {
		t.Errorf("%d INFO requests for 21 calls, want 1: none for the cancelled call", n)
	}
}

// TestSchemaBounds: INFO replies that publish more than the client keeps
// are cut at MaxLearnedEndpoints subjects and MaxSchemaVersions versions
// of one subject, and the client says what it left out.
func TestSchemaBounds(t *testing.T) {
	srv := microtest.NewServer(t)
	const offered = client.MaxLearnedEndpoints + 10
	const versions = client.MaxSchemaVersions + 2
	strict := map[string]string{binding.RequestSchemaKey: `{"type":"object","required":["id"]}`}
	flood := micro.Info{ServiceIdentity: micro.ServiceIdentity{Name: "flood", ID: "F", Version: "1.0.0"}, Type: micro.InfoResponseType}
	for i := range offered {
		flood.Endpoints = append(flood.Endpoints, micro.EndpointInfo{Name: fmt.Sprint("e", i), Subject: fmt.Sprint("flood.", i), Metadata: strict})
	}
	replies := []micro.Info{flood}
	for i := range versions {
		// Sorted before flood: its subject is filed first.
		replies = append(replies, micro.Info{ServiceIdentity: micro.ServiceIdentity{Name: "a-multi", ID: fmt.Sprint("M", i), Version: fmt.Sprintf("1.%d.0", i)},
			Type: micro.InfoResponseType, Endpoints: []micro.EndpointInfo{{Name: "same", Subject: "same", Metadata: strict}}})
	}
	var docs [][]byte
	for _, info := range replies {
		doc, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	rogue := srv.Connect(t)
	if _, err := rogue.Subscribe("$SRV.INFO", func(m *nats.Msg) {
		for _, doc := range docs {
			_ = m.Respond(doc)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := rogue.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(srv.Connect(t), client.WithSchemaValidation(client.WithSchemaRefresh(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	err = c.LoadSchemas(context.Background())
	dropped := versions - client.MaxSchemaVersions + offered - (client.MaxLearnedEndpoints - 1)
	want := fmt.Sprintf("client: %d endpoint schemas beyond the limits of %d subjects and %d versions each were left out",
		dropped, client.MaxLearnedEndpoints, client.MaxSchemaVersions)
	if err == nil || err.Error() != want {
		t.Fatalf("LoadSchemas: %v, want %q", err, want)
	}
	for subject, checked := range map[string]bool{"same": true, "flood.0": true, fmt.Sprint("flood.", client.MaxLearnedEndpoints-2): true, fmt.Sprint("flood.", offered-1): false} {
		_, err := c.Request(context.Background(), subject, []byte(`{}`), nil)
		if got := errors.Is(err, client.ErrInvalidRequest); got != checked {
			t.Errorf("%s: checked %t, want %t (%v)", subject, got, checked, err)
		}
	}
}

// TestSchemaOtherCodec: a call in another codec than JSON is not checked
// against JSON Schemas, and passes.
func TestSchemaOtherCodec(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote, binding.WithCodec(xmlCodec{})))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t, client.WithCodec(xmlCodec{}), client.WithSchemaValidation())
	got, err := client.Call[Quote, Price](context.Background(), c, "quote", &Quote{SKU: "tea", Qty: 2})
	if err != nil || got.Cents != 500 {
		t.Errorf("XML call: %+v, %v", got, err)
	}
}
