package binding_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/go-playground/validator/v10"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	// Rules are registered before any request is validated, as the
	// validator requires.
	if err := binding.RegisterValidation("zipcode", isZipCode, "must be a 5-digit postal code"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

var zipCode = regexp.MustCompile(`^[0-9]{5}$`)

func isZipCode(fl validator.FieldLevel) bool { return zipCode.MatchString(fl.Field().String()) }

// The types of the tests: an order with nested structs, a slice, an
// embedded struct, a custom rule and a Validate method.

type Tenant struct {
	Tenant string `json:"tenant" validate:"required"`
}

type Address struct {
	City string `json:"city" validate:"required"`
	Zip  string `json:"zip,omitempty" validate:"omitempty,zipcode"`
}

type Item struct {
	SKU string `json:"sku" validate:"required"`
	Qty int    `json:"qty" validate:"gte=1"`
}

type Order struct {
	Tenant
	Customer string  `json:"customer" validate:"required,min=2"`
	Email    string  `json:"email,omitempty" validate:"omitempty,email"`
	Priority int8    `json:"priority,omitempty"`
	Address  Address `json:"address"`
	Items    []Item  `json:"items" validate:"required,min=1,dive"`
	Note     string  `json:"note,omitempty" validate:"max=20"`
}

var errTooMany = errors.New("at most 100 items in total")

// Validate checks what struct tags cannot say.
func (o *Order) Validate() error {
	if o.Customer == "mallory" {
		return natsmux.ErrForbidden
	}
	total := 0
	seen := map[string]bool{}
	for i, it := range o.Items {
		total += it.Qty
		if seen[it.SKU] {
			return binding.NewValidationError(binding.FieldError{Field: fmt.Sprintf("items[%d].sku", i), Rule: "distinct"})
		}
		seen[it.SKU] = true
	}
	if total > 100 {
		return errTooMany
	}
	return nil
}

type Receipt struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

func placeOrder(_ context.Context, o *Order) (*Receipt, error) {
	if o.Customer == "nobody" {
		return nil, natsmux.Errorf(404, "customer %s not found", o.Customer)
	}
	r := &Receipt{ID: o.Tenant.Tenant + "-" + o.Customer}
	for _, it := range o.Items {
		r.Total += it.Qty
	}
	return r, nil
}

// accept is a typed handler's function that accepts what reaches it: the
// tests look at what binding does before.
func accept[T any](context.Context, *T) (*struct{}, error) { return nil, nil }

// serve mounts r on a service on a fresh server and returns a client
// connection.
func serve(t testing.TB, r *natsmux.Router) (*nats.Conn, micro.Service) {
	t.Helper()
	srv := microtest.NewServer(t)
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
	return srv.Connect(t), svc
}
