package core

// index returns the position of the member ID in the view, or -1: for
// tests (the core keeps positions in Core.at).
func (v View) index(id string) int {
	for i, m := range v.Members {
		if m.ID == id {
			return i
		}
	}
	return -1
}
