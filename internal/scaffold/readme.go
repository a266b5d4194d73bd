package scaffold

import "strings"

// READMEParams are the parameters of the README's compose and Kubernetes
// examples: what `cloister init` writes in a module github.com/acme/shop.
// The tests hold the README's blocks equal to Render(READMEParams).
var READMEParams = Params{Module: "github.com/acme/shop", GoVersion: "1.26", App: "shop", Main: ".",
	Port: 8080, GossipPort: 4747, Replicas: 3, Image: "shop:latest"}

// READMEBlock returns the first ```yaml block of the section of markdown
// that starts with the line heading, or "".
func READMEBlock(markdown, heading string) string {
	i := strings.Index(markdown, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	section := markdown[i+len(heading)+2:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	start := strings.Index(section, "```yaml\n")
	if start < 0 {
		return ""
	}
	block := section[start+len("```yaml\n"):]
	end := strings.Index(block, "```")
	if end < 0 {
		return ""
	}
	return block[:end]
}
