package relay

// LiveNodes is the number of logic nodes c would route to.
func LiveNodes(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Owner is the node c routes user's sends to.
func Owner(c *Client, user string) string { return c.owner(user) }
