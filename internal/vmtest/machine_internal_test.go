package vmtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// KVM is used only where the CPU offers VT-x or AMD-V: a nested host's
// /dev/kvm without them boots no stock kernel.
func TestHardwareVirt(t *testing.T) {
	tests := []struct {
		name    string
		cpuinfo string
		want    bool
	}{
		{"Intel with VT-x", "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr vmx smx est\nvmx flags\t: vnmi preemption_timer\n", true},
		{"AMD with AMD-V", "processor\t: 0\nflags\t\t: fpu vme de pse svm extapic\n", true},
		{"a guest without nested virtualization", "processor\t: 0\nflags\t\t: fpu vme de pse tsc hypervisor avx512f\n", false},
		{"VT-x named only in another line", "model name\t: vmx\nflags\t\t: fpu vme\nvmx flags\t: vnmi\n", false},
		{"arm64", "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, hardwareVirt([]byte(tt.cpuinfo)))
		})
	}
}
