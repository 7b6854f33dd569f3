package binding_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
)

// Signup is the input of the examples' endpoint: struct tags say what a
// valid one is.
type Signup struct {
	Email string `json:"email" validate:"required,email"`
	Plan  string `json:"plan" validate:"required,oneof=free pro"`
	Seats int    `json:"seats,omitempty" validate:"omitempty,min=1,max=500"`
}

// Account is its output.
type Account struct {
	ID   string `json:"id"`
	Plan string `json:"plan"`
}

func signup(_ context.Context, s *Signup) (*Account, error) {
	return &Account{ID: "acct-1", Plan: s.Plan}, nil
}

// A typed handler decodes, validates, calls and encodes; failures are 400
// errors whose Data lists the fields. A router serves in memory, as here, or
// mounted on a service.
func ExampleJSON() {
	r := natsmux.NewRouter()
	r.Handle("signup", binding.JSON(signup), natsmux.WithSubject("accounts.signup"))

	ctx := context.Background()
	resp, _ := r.ServeNATS(ctx, natsmux.NewRequest("accounts.signup", []byte(`{"email":"ann@example.com","plan":"pro"}`)))
	fmt.Println(string(resp.Data))

	_, err := r.ServeNATS(ctx, natsmux.NewRequest("accounts.signup", []byte(`{"email":"ann","plan":"gold"}`)))
	fmt.Println(err)
	for _, fe := range binding.FieldErrors(err) {
		fmt.Printf("%s [%s]: %s\n", fe.Field, fe.Rule, fe.Message)
	}

	_, err = r.ServeNATS(ctx, natsmux.NewRequest("accounts.signup", []byte(`{"email":"ann@example.com","seats":"ten"}`)))
	var e *natsmux.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Description)
	}
	// Output:
	// {"id":"acct-1","plan":"pro"}
	// 400 invalid request: email must be a valid email address; plan must be one of: free, pro
	// email [email]: email must be a valid email address
	// plan [oneof]: plan must be one of: free, pro
	// 400 invalid request: field "seats": expected integer, got string (near offset 40)
}

// The request and response schemas go into the endpoint's metadata, which
// INFO shows.
func ExampleJSON_schema() {
	r := natsmux.NewRouter()
	r.Handle("signup", binding.JSON(signup, binding.WithStrict()))

	md := r.Endpoints()[0].Metadata
	fmt.Println(md[binding.RequestSchemaKey])
	fmt.Println(md[binding.ResponseSchemaKey])
	// Output:
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/Signup","$defs":{"Signup":{"properties":{"email":{"type":"string","format":"email"},"plan":{"type":"string","enum":["free","pro"]},"seats":{"anyOf":[{"enum":[0,null]},{"type":"integer","maximum":500,"minimum":1}]}},"additionalProperties":false,"type":"object","required":["email","plan"]}}}
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/Account","$defs":{"Account":{"properties":{"id":{"type":"string"},"plan":{"type":"string"}},"type":"object","required":["id","plan"]}}}
}

// Decode and Encode serve hand-written handlers, which may read subject
// parameters and headers around them.
func ExampleDecode() {
	r := natsmux.NewRouter()
	r.HandleFunc("signup", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		var s Signup
		if err := binding.Decode(req, &s, binding.WithMaxPayload(1024)); err != nil {
			return nil, err
		}
		return binding.Encode(req, Account{ID: req.Param("region") + "-1", Plan: s.Plan})
	}, natsmux.WithSubject("accounts.{region}.signup"), natsmux.WithMetadata(binding.SchemaMetadata[Signup, Account]()))

	resp, err := r.ServeNATS(context.Background(), natsmux.NewRequest("accounts.eu.signup", []byte(`{"email":"bo@example.com","plan":"free"}`)))
	fmt.Println(string(resp.Data), err)
	_, err = r.ServeNATS(context.Background(), natsmux.NewRequest("accounts.eu.signup", nil))
	fmt.Println(err)
	// Output:
	// {"id":"eu-1","plan":"free"} <nil>
	// 400 invalid request: email is required; plan is required
}

// A Validate method or a handler reports field errors of its own with
// NewValidationError, in the same format as failed struct rules.
func ExampleNewValidationError() {
	err := binding.NewValidationError(binding.FieldError{Field: "seats", Rule: "available", Param: "12", Message: "only 12 seats are left"})
	fmt.Println(err.Code, err.Description)
	fmt.Println(string(err.Data))
	// Output:
	// 400 invalid request: only 12 seats are left
	// {"errors":[{"field":"seats","rule":"available","param":"12","message":"only 12 seats are left"}]}
}
