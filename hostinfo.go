package cloister

// Detection returns the node's failure-detection timing. It is not part of
// the Host interface (implementations outside this package need not have
// it): services that size timeouts from it, like package leader, find it
// with a type assertion on interface{ Detection() Detection }.
func (h *serviceHost) Detection() Detection { return h.n.cfg.Detection }
