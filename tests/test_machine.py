from pathlib import Path

from fetalseg.machine import cpu_flags


def test_cpu_flags_read_from_cpuinfo():
    flags = cpu_flags()
    assert isinstance(flags, set)
    if Path("/proc/cpuinfo").is_file() and "flags" in Path("/proc/cpuinfo").read_text():
        assert "fpu" in flags or "sse2" in flags  # every x86-64 CPU has SSE2
