// Package testdoc holds documents that binding's tests and benchmarks share
// with internal/codecbench, so that the JSON codecs are measured, and held to
// encoding/json, on the very types binding is.
package testdoc

import (
	"encoding/json"
	"fmt"
	"time"
)

// Order is the nested typed payload of the benchmarks: an order with a
// dive into its lines.
type Order struct {
	ID    string      `json:"id" validate:"required"`
	Items []OrderLine `json:"items" validate:"required,min=1,dive"`
	Total int         `json:"total" validate:"gte=0"`
}

// OrderLine is a line of an Order.
type OrderLine struct {
	SKU string `json:"sku" validate:"required,max=16"`
	Qty int    `json:"qty" validate:"gte=1,lte=100"`
}

// OrderPayload is an Order that passes its rules.
var OrderPayload = []byte(`{"id":"o-1","items":[{"sku":"a-1","qty":1},{"sku":"b-2","qty":2}],"total":3}`)

// OrderPayloadWith returns an Order of n lines that passes its rules, as
// JSON: OrderPayload's shape, for measuring how costs grow with a payload.
func OrderPayloadWith(lines int) []byte {
	o := Order{ID: "o-1", Items: make([]OrderLine, lines)}
	for i := range o.Items {
		o.Items[i] = OrderLine{SKU: fmt.Sprintf("sku-%d", i), Qty: 1 + i%100}
		o.Total += o.Items[i].Qty
	}
	data, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return data
}

// CodecProbe has a field of every kind a payload decodes into.
type CodecProbe struct {
	ID    string  `json:"id"`
	N     int8    `json:"n"`
	U     uint16  `json:"u"`
	F     float32 `json:"f"`
	B     bool    `json:"b"`
	P     *string `json:"p"`
	Items []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"items"`
	M     map[string]int  `json:"m"`
	Any   any             `json:"any"`
	Arr   [2]int          `json:"arr"`
	Raw   json.RawMessage `json:"raw"`
	Stamp time.Time       `json:"stamp"`
}
