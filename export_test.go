package natsmux

// MountCount returns how many services r's tree is mounted on.
func MountCount(r *Router) int {
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	return len(r.tree.mounts)
}
