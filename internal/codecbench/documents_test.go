package codecbench_test

import (
	"encoding/json"
	"fmt"
	"time"
)

// invoice is the larger document: nested objects, an array of 20 lines,
// strings with escapes and non-ASCII text, floats, booleans, a time, a
// map[string]string and omitempty fields, some set and some not.
type invoice struct {
	ID       string            `json:"id" validate:"required"`
	Created  time.Time         `json:"created"`
	Customer customer          `json:"customer"`
	Lines    []invoiceLine     `json:"lines" validate:"required,min=1,max=100"`
	Labels   map[string]string `json:"labels,omitempty"`
	Total    float64           `json:"total"`
	Paid     bool              `json:"paid"`
	Discount *float64          `json:"discount,omitempty"`
	Note     string            `json:"note,omitempty"`
}

type customer struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	VIP     bool    `json:"vip"`
	Address address `json:"address"`
}

type address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Zip     string `json:"zip,omitempty"`
	Country string `json:"country"`
}

type invoiceLine struct {
	SKU     string   `json:"sku"`
	Title   string   `json:"title"`
	Qty     int      `json:"qty"`
	Price   float64  `json:"price"`
	Taxable bool     `json:"taxable"`
	Tags    []string `json:"tags,omitempty"`
}

// invoicePayload is newInvoice as encoding/json writes it.
var invoicePayload = mustMarshal(newInvoice())

func newInvoice() *invoice {
	titles := []string{"Schraube \"M6\"", "Café crème", "東京 notebook", "line\nbreak", `back\slash`, "<tag> & more", "plain"}
	inv := &invoice{
		ID:      "inv-2026-0042",
		Created: time.Date(2026, 11, 28, 10, 30, 0, 123456000, time.UTC),
		Customer: customer{
			Name: "Zoë Ångström", Email: "zoe@example.org", VIP: true,
			Address: address{Street: "Bahnhofstraße 1", City: "Zürich", Zip: "8001", Country: "CH"},
		},
		Labels: map[string]string{"channel": "web", "region": "eu-west", "promo": "\u00bd price"},
		Note:   "deliver after 18:00, ring twice",
	}
	for i := range 20 {
		line := invoiceLine{
			SKU:     fmt.Sprintf("sku-%03d", i),
			Title:   titles[i%len(titles)],
			Qty:     1 + i%5,
			Price:   float64(i)*1.37 + 0.99,
			Taxable: i%3 != 0,
		}
		if i%4 == 0 {
			line.Tags = []string{"fragile", "eco"}
		}
		inv.Lines = append(inv.Lines, line)
		inv.Total += float64(line.Qty) * line.Price
	}
	return inv
}

func mustMarshal(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
