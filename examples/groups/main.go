// Command groups is an orders service that shows groups, subject
// parameters and errors with codes:
//
//	orders.create             create an order from {"items":{"apple":2}}
//	orders.{id}.get           an order
//	orders.{id}.items.{item}  the quantity of one item of an order
//	admin.count               how many orders there are (queue group "admin")
//
// Order 1 exists from the start. Try:
//
//	micro run ./examples/groups
//	micro request orders.1.get
//	micro request orders.1.items.apple
//	micro request orders.create '{"items":{"pear":3}}'
//	micro request orders.9.get            # 404: no order 9
//	micro request orders.create 'oops'    # 400: the payload is not JSON
package main

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/micro"
)

func main() {
	app.New(devserver.Fallback()).Main(service(newStore()))
}

// service returns the orders service over s.
func service(s *store) app.Service {
	r := natsmux.NewRouter()
	r.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("create", s.create,
			natsmux.WithMetadata(map[string]string{"request": `{"items":{"<item>":<quantity>}}`}))
		// A group whose prefix is a parameter: its endpoints read it with
		// req.Param("id").
		r.Route("{id}", func(r *natsmux.Router) {
			r.HandleFunc("get", s.get)
			r.HandleFunc("item", s.item, natsmux.WithSubject("items.{item}"))
		})
	}, natsmux.WithMetadata(map[string]string{"domain": "sales"}))
	r.Route("admin", func(r *natsmux.Router) {
		r.HandleFunc("count", s.count)
	}, natsmux.WithQueueGroup("admin"))

	return app.Service{
		Config: micro.Config{
			Name:        "orders",
			Version:     "1.0.0",
			Description: "Orders, with groups and subject parameters",
			Metadata:    map[string]string{"example": "groups"},
		},
		Router: r,
	}
}

// Order is an order's items with their quantities.
type Order struct {
	ID    string         `json:"id"`
	Items map[string]int `json:"items"`
}

// store keeps orders in memory.
type store struct {
	mu     sync.Mutex
	orders map[string]Order
	lastID int
}

// newStore returns a store holding order 1.
func newStore() *store {
	return &store{orders: map[string]Order{"1": {ID: "1", Items: map[string]int{"apple": 2, "pear": 1}}}, lastID: 1}
}

func (s *store) create(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	var in struct {
		Items map[string]int `json:"items"`
	}
	if err := json.Unmarshal(req.Data, &in); err != nil {
		return nil, natsmux.Errorf(400, "the payload is not an order: %v", err)
	}
	if len(in.Items) == 0 {
		return nil, natsmux.NewError(400, "an order needs at least one item")
	}
	for item, n := range in.Items {
		if n <= 0 {
			return nil, natsmux.Errorf(400, "the quantity of %s must be positive, not %d", item, n)
		}
	}
	s.mu.Lock()
	s.lastID++
	order := Order{ID: strconv.Itoa(s.lastID), Items: in.Items}
	s.orders[order.ID] = order
	s.mu.Unlock()
	return natsmux.ReplyJSON(order)
}

func (s *store) get(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	order, err := s.find(req.Param("id"))
	if err != nil {
		return nil, err
	}
	return natsmux.ReplyJSON(order)
}

func (s *store) item(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	order, err := s.find(req.Param("id"))
	if err != nil {
		return nil, err
	}
	name := req.Param("item")
	n, ok := order.Items[name]
	if !ok {
		return nil, natsmux.Errorf(404, "order %s has no %s", order.ID, name)
	}
	return natsmux.ReplyJSON(map[string]any{"item": name, "quantity": n})
}

func (s *store) count(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return natsmux.ReplyJSON(map[string]int{"orders": len(s.orders)})
}

func (s *store) find(id string) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	order, ok := s.orders[id]
	if !ok {
		return Order{}, natsmux.Errorf(404, "no order %s", id)
	}
	return order, nil
}
