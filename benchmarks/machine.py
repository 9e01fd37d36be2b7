"""What the benchmarks record about the machine they ran on, and how busy it was (Linux /proc).

Shared by benchmarks/attention_bench.py, widget_compute.py and widget_latency.py, so every
results file describes its machine the same way. Off Linux the /proc readers return None (or -1
for a memory figure) instead of failing: a benchmark still runs, it just records less.
"""
from __future__ import annotations

import datetime
import os
import platform
import resource
import time


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Total memory of the machine in GiB (MemTotal in /proc/meminfo), or None."""
    try:
        with open("/proc/meminfo") as f:
            return round(int(f.readline().split()[1]) / 1024 ** 2, 1)
    except (OSError, ValueError, IndexError):
        return None


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, averaged), or None where there is none."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def describe(**extra) -> dict:
    """The machine, the software and the moment, as one dict for a results file (plus `extra`)."""
    import torch

    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": memory_gib(),
        "python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1min": load_average(), **extra,
    }


# --- how busy the CPUs are ----------------------------------------------------------------------

def _cpu_fields() -> list[int] | None:
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def cpu_busy(interval: float = 1.0) -> float | None:
    """Fraction of all CPUs busy (not idle, not waiting for I/O) over `interval` seconds."""
    before = _cpu_fields()
    time.sleep(interval)
    after = _cpu_fields()
    if before is None or after is None:
        return None
    idle = (after[3] + after[4]) - (before[3] + before[4])
    return 1.0 - idle / max(1, sum(after) - sum(before))


def wait_for_quiet(max_wait_s: float, busy_below: float = 0.3) -> float | None:
    """Wait (up to max_wait_s) until the CPUs are mostly idle; returns the busy fraction seen last.

    Two busy threads of a benchmark need two idle cores: timing while other processes compete for
    them measures the scheduler, not the code.
    """
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    while busy is not None and busy >= busy_below and time.monotonic() < deadline:
        time.sleep(2.0)
        busy = cpu_busy()
    return busy


def cpu_snapshot() -> tuple[int, int, float] | None:
    """(busy jiffies of the machine, jiffies in all, CPU seconds used by our finished children)."""
    fields = _cpu_fields()
    if fields is None:
        return None
    ours = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(fields) - fields[3] - fields[4], sum(fields), ours.ru_utime + ours.ru_stime


def others_busy(before) -> float | None:
    """Fraction of the machine's CPU time that processes other than our children used since `before`."""
    after = cpu_snapshot()
    if before is None or after is None:
        return None
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = after[1] - before[1]
    others = (after[0] - before[0]) - (after[2] - before[2]) * hz
    return max(0.0, others / total) if total > 0 else None


# --- this process's memory -----------------------------------------------------------------------

def status_kib(field: str) -> int:
    """A line of /proc/self/status (VmRSS, VmHWM, ...) in KiB, or -1 where there is no such file."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def release_free_memory() -> None:
    """Hand memory that Python and malloc hold but no longer use back to the system (glibc only),
    so the resident-memory rise of the next call counts all it allocates."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
