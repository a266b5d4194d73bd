package oneproc

import "testing"

func TestAgentRunsOnOneProcUnlessTold(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want int
	}{
		{[]string{"agent", "--json"}, "", 1},
		{[]string{"agent"}, "4", 0}, // GOMAXPROCS set: Go applies it
		{[]string{"demo"}, "", 0},
		{nil, "", 0},
	}
	for _, tt := range tests {
		if got := Procs(tt.args, tt.env); got != tt.want {
			t.Errorf("Procs(%q, %q) = %d, want %d", tt.args, tt.env, got, tt.want)
		}
	}
}
