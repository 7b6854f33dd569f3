package client

import (
	"container/list"
	"sync"
)

// lru maps keys to values made on first use, and forgets the least
// recently used key beyond its capacity, so that a stream of new keys
// (subjects with ids, a hostile caller) keeps it at a fixed size.
type lru[V any] struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // of *lruEntry, most recently used first
	items    map[string]*list.Element
	newValue func() V
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](capacity int, newValue func() V) *lru[V] {
	return &lru[V]{capacity: capacity, order: list.New(), items: map[string]*list.Element{}, newValue: newValue}
}

// get returns key's value, making it if the key is new.
func (l *lru[V]) get(key string) V {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[key]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*lruEntry[V]).value
	}
	if l.order.Len() >= l.capacity {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.items, oldest.Value.(*lruEntry[V]).key)
	}
	v := l.newValue()
	l.items[key] = l.order.PushFront(&lruEntry[V]{key, v})
	return v
}

// len returns how many keys are kept.
func (l *lru[V]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// each calls fn with every value, under the lock: fn must not use l.
func (l *lru[V]) each(fn func(V)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for el := l.order.Front(); el != nil; el = el.Next() {
		fn(el.Value.(*lruEntry[V]).value)
	}
}
