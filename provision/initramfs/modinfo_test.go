package initramfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// fakeModule returns a minimal ELF64 little-endian relocatable file whose only content is a
// .modinfo section holding the given key=value strings: what ReadModInfo reads of a real .ko.
func fakeModule(info ...string) []byte {
	modinfo := []byte(strings.Join(info, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	modOff := uint64(ehsize)
	strOff := modOff + uint64(len(modinfo))
	shOff := (strOff + uint64(len(shstr)) + 7) &^ 7
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))   // ET_REL
	binary.Write(&b, le, uint16(183)) // EM_AARCH64
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0)) // entry
	binary.Write(&b, le, uint64(0)) // phoff
	binary.Write(&b, le, shOff)
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(0))
	binary.Write(&b, le, uint16(0))
	binary.Write(&b, le, uint16(shentsize))
	binary.Write(&b, le, uint16(3)) // shnum
	binary.Write(&b, le, uint16(2)) // shstrndx
	b.Write(modinfo)
	b.Write(shstr)
	for uint64(b.Len()) < shOff {
		b.WriteByte(0)
	}
	sh := func(name, typ uint32, off, size uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint64(0)) // flags
		binary.Write(&b, le, uint64(0)) // addr
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(1))
		binary.Write(&b, le, uint64(0))
	}
	sh(0, 0, 0, 0)
	sh(1, 1, modOff, uint64(len(modinfo))) // .modinfo, PROGBITS
	sh(10, 3, strOff, uint64(len(shstr)))  // .shstrtab, STRTAB
	return b.Bytes()
}

// testModule is the stand-in for dtheap_heaps.ko the archive tests use.
var testModule = fakeModule("license=GPL", "alias=of:N*T*Cdtheap,dma-heapsC*", "alias=of:N*T*Cdtheap,dma-heaps",
	"depends=", "name=dtheap_heaps", "vermagic=6.1.192 SMP mod_unload aarch64")

func TestReadModInfo(t *testing.T) {
	mi, err := ReadModInfo(testModule)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Name != "dtheap_heaps" || mi.Release != "6.1.192" || len(mi.Aliases) != 2 || len(mi.Depends) != 0 {
		t.Errorf("got %+v", mi)
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("module"), "not a kernel module (ELF)"},
		{fakeModule("name=x"), "no name= or vermagic="},
		{fakeModule("vermagic=6.1 SMP"), "no name= or vermagic="},
		{fakeModule("name=x", "vermagic=../.. SMP"), "not a directory name"},
	} {
		if _, err := ReadModInfo(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.data, err, tc.want)
		}
	}
}

// TestAddModules checks the depmod-format index written next to the modules, and the modules
// an archive cannot hold together.
func TestAddModules(t *testing.T) {
	dir := t.TempDir()
	w := func(name string, data []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	heaps := w("dtheap_heaps.ko", testModule)
	got := map[string]string{}
	add := func(name string, r cpio.Record) error {
		b, _ := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		got[name] = string(b)
		return nil
	}
	if err := addModules([]string{heaps}, add); err != nil {
		t.Fatal(err)
	}
	if d := got["/lib/modules/6.1.192/modules.dep"]; d != "updates/dtheap_heaps.ko:\n" {
		t.Errorf("modules.dep %q", d)
	}
	if a := got["/lib/modules/6.1.192/modules.alias"]; a != "# Aliases extracted from modules themselves.\nalias of:N*T*Cdtheap,dma-heapsC* dtheap_heaps\nalias of:N*T*Cdtheap,dma-heaps dtheap_heaps\n" {
		t.Errorf("modules.alias %q", a)
	}
	other := w("other.ko", fakeModule("name=other", "vermagic=6.12.117 SMP"))
	if err := addModules([]string{heaps, other}, add); err == nil || !strings.Contains(err.Error(), "one initramfs boots one kernel") {
		t.Errorf("two releases: %v", err)
	}
	needy := w("needy.ko", fakeModule("name=needy", "depends=helper", "vermagic=6.1.192 SMP"))
	if err := addModules([]string{needy}, add); err == nil || !strings.Contains(err.Error(), "depends on helper") {
		t.Errorf("missing dependency: %v", err)
	}
	helper := w("helper.ko", fakeModule("name=helper", "vermagic=6.1.192 SMP"))
	if err := addModules([]string{needy, helper}, add); err != nil {
		t.Fatal(err)
	}
	if d := got["/lib/modules/6.1.192/modules.dep"]; d != "updates/needy.ko: updates/helper.ko\nupdates/helper.ko:\n" {
		t.Errorf("modules.dep with a dependency %q", d)
	}
}
