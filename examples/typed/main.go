// Command typed is a hotel booking service with a typed endpoint: the
// request is decoded into a Go struct and validated before the handler
// sees it, and every way it can be wrong gets a 400 that says why, with the
// failures of each field as JSON in the payload:
//
//	hotel.book  {"guest":"Ann Lee","email":"ann@example.com","room":"204",
//	             "check_in":"2026-05-01","check_out":"2026-05-04"}
//
// The endpoint publishes JSON Schemas of its request and reply in its
// metadata, so discovery tells callers what to send. Try:
//
//	micro run ./examples/typed
//	micro info hotel
//	micro request hotel.book '{"guest":"Ann Lee","email":"ann@example.com","room":"204","check_in":"2026-05-01","check_out":"2026-05-04"}'
//	micro request hotel.book '{"guest":"A","room":"999"}'
package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
)

func main() {
	if err := registerRules(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	app.New(devserver.Fallback()).Main(service())
}

// registerRules adds the rules of our own that Booking's tags use. Rules
// are registered once, at start-up, before any request is validated.
func registerRules() error {
	return binding.RegisterValidation("room", isRoom, "must be a room number, from 100 to 599")
}

// roomNumber is a floor, 1 to 5, and a room on it.
var roomNumber = regexp.MustCompile(`^[1-5][0-9]{2}$`)

func isRoom(fl validator.FieldLevel) bool { return roomNumber.MatchString(fl.Field().String()) }

// dateLayout is how dates are written in bookings, as the datetime rules
// of Booking's tags check them.
const dateLayout = time.DateOnly

// Booking asks for a room. Its validate tags say what a valid one is; the
// json names are those of the payload and of the field errors; the
// jsonschema tags add formats to the published request schema.
type Booking struct {
	Guest    string `json:"guest" validate:"required,min=2,max=80"`
	Email    string `json:"email" validate:"required,email" jsonschema:"format=email"`
	Room     string `json:"room" validate:"required,room"`
	CheckIn  string `json:"check_in" validate:"required,datetime=2006-01-02" jsonschema:"format=date"`
	CheckOut string `json:"check_out" validate:"required,datetime=2006-01-02" jsonschema:"format=date"`
	Guests   int    `json:"guests,omitempty" validate:"omitempty,min=1,max=4"`
}

// Validate checks what tags cannot say. It runs only once the tags' rules
// have passed, so both dates are known to be valid here. A field error
// built with binding.NewValidationError reaches the caller in the same
// format as those of the tags.
func (b *Booking) Validate() error {
	in, _ := time.Parse(dateLayout, b.CheckIn)
	out, _ := time.Parse(dateLayout, b.CheckOut)
	if !out.After(in) {
		return binding.NewValidationError(binding.FieldError{Field: "check_out", Rule: "after_check_in",
			Param: b.CheckIn, Message: "check_out must be after check_in"})
	}
	return nil
}

// Confirmation is the reply to a booking.
type Confirmation struct {
	Number string `json:"number"`
	Room   string `json:"room"`
	Nights int    `json:"nights"`
}

// service returns the hotel service.
func service() app.Service {
	var booked atomic.Int64
	// book is called only with a valid booking: binding.JSON answers the
	// others with a 400.
	book := func(_ context.Context, b *Booking) (*Confirmation, error) {
		in, _ := time.Parse(dateLayout, b.CheckIn)
		out, _ := time.Parse(dateLayout, b.CheckOut)
		return &Confirmation{
			Number: fmt.Sprintf("B%04d", booked.Add(1)),
			Room:   b.Room,
			Nights: int(out.Sub(in).Hours() / 24),
		}, nil
	}

	r := natsmux.NewRouter()
	r.Route("hotel", func(r *natsmux.Router) {
		// Strict: a field Booking lacks, such as a misspelt "chek_in", is an
		// error rather than silently ignored.
		r.Handle("book", binding.JSON(book, binding.WithStrict()))
	})
	return app.Service{
		Config: micro.Config{Name: "hotel", Version: "1.0.0", Description: "Room bookings, typed and validated"},
		Router: r,
	}
}
