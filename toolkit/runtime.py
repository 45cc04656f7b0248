"""Devices, mixed precision, channels-last and seeded randomness."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import shutil
import subprocess
import tempfile

import numpy as np
import torch

from .config import COMPILE_MODES
from .errors import ToolkitError

AMP_MODES = ("off", "bf16", "fp16")
# COMPILE_MODES, how a search step runs: "off" eager; "on" the supernet's forward (and with it the
# backward) compiled by torch.compile with static shapes; "cudagraphs" the whole eager step recorded as
# one CUDA graph and replayed (toolkit.graphed).
# The torch.compile backend. Tests swap in "aot_eager": the same graph capture and autograd graphs,
# without generating C++ code (which takes minutes on a small CPU for a whole supernet).
COMPILE_BACKEND = "inductor"
log = logging.getLogger("toolkit")


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA when present, else Apple MPS, else CPU; or the device the user names."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise ToolkitError(f"unknown device '{preference}'; use auto, cpu, cuda or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ToolkitError("device 'cuda' asked for but no CUDA GPU is visible; use --device auto or cpu")
    return device


def autocast(device: torch.device, amp: str = "off"):
    """An autocast context for ``amp`` in {'off', 'bf16', 'fp16'} (a no-op when off)."""
    if amp not in AMP_MODES:
        raise ToolkitError(f"unknown amp mode '{amp}'; choose one of: {', '.join(AMP_MODES)}")
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    # No cache of cast weights: a CUDA graph cannot hold one (toolkit.graphed), and the models here use
    # each weight once per forward pass, so it saves nothing.
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=False)


def grad_scaler(device: torch.device, amp: str):
    """A gradient scaler for fp16 on CUDA; disabled otherwise (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=(amp == "fp16" and device.type == "cuda"))


def compile_plan(device: torch.device, mode: str, amp: str = "off") -> tuple[str, str | None]:
    """The compile mode that applies to a search step on ``device``, and why when it is not ``mode``.

    ``on`` compiles the supernet with torch.compile; ``cudagraphs`` records the whole eager step as one
    CUDA graph (:mod:`toolkit.graphed`). Falls back (with the reason as a one-line message, never an
    error): MPS runs eager; a CPU without a working C++ compiler runs eager (inductor writes C++
    there); CUDA graphs need CUDA, and fp16's loss scaler reads its overflow check back to the CPU
    every step, which a graph cannot hold, so both run eager.
    """
    if mode not in COMPILE_MODES:
        raise ToolkitError(f"unknown compile mode '{mode}'; choose one of: {', '.join(COMPILE_MODES)}")
    if mode == "off":
        return "off", None
    if mode == "cudagraphs":
        if device.type != "cuda":
            return "off", f"compile: CUDA graphs need a CUDA device, not {device.type}; the search step runs eager"
        if amp == "fp16":
            return "off", ("compile: CUDA graphs cannot hold fp16's loss scaling (it reads overflow checks on the "
                           "CPU); use --amp bf16 or off with them. The search step runs eager")
        return mode, None
    if device.type not in ("cpu", "cuda"):
        return "off", f"compile: torch.compile is not used on {device.type}; the search step runs eager"
    if not _dynamo_supported():
        return "off", "compile: torch.compile does not support this Python/torch; the search step runs eager"
    if device.type == "cpu" and COMPILE_BACKEND == "inductor" and not cpp_compiler_works():
        return "off", "compile: no working C++ compiler (set CXX or install g++); the search step runs eager"
    return mode, None


def _dynamo_supported() -> bool:
    try:
        import torch._dynamo

        return torch._dynamo.is_dynamo_supported()
    except Exception:  # an import failure means the same: no compile here
        return False


@functools.cache
def cpp_compiler_works() -> bool:
    """True when the C++ compiler inductor would use (``CXX``, else g++, c++, clang++) builds a file."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    compiler = next((path for path in map(shutil.which, names) if path), None)
    if compiler is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "probe.cpp")
        with open(source, "w") as f:
            f.write("int probe() { return 0; }\n")
        try:
            done = subprocess.run([compiler, "-c", source, "-o", os.path.join(folder, "probe.o")],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0


def compiled(fn, mode: str):
    """``fn`` compiled by torch.compile when ``mode`` is 'on' (static shapes: a search compiled so drops
    its last incomplete batch); ``fn`` itself otherwise ('off', and 'cudagraphs', which records the
    eager step: :mod:`toolkit.graphed`)."""
    if mode != "on":
        return fn
    return torch.compile(fn, backend=COMPILE_BACKEND, dynamic=False)


def prepare_model(model: torch.nn.Module, device: torch.device, channels_last: bool = False) -> torch.nn.Module:
    """Move a model to ``device``, optionally in channels-last memory format."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def to_device(x: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def search_threads(cores: int | None = None) -> int:
    """Torch intra-op threads for searching and training on CPU: one core is left free.

    Torch's default (one thread per core) splits every op between all cores and waits for the
    slowest share, so one other busy program (the browser drawing live plots, a second kernel)
    makes each op wait for a core it has to share: 17x slower steps were seen on 2 cores.
    With one core left free a busy program has a core of its own: on a 2-core VM one thread's
    search step slowed 1.02x under a busy process, two threads' 3.9x. The price is speed on a
    quiet machine (there two threads were 1.46x faster at the ``cpu-small`` size; see
    ``bench/RESULTS.md``), and the thread count cannot follow the load during a run, since it
    changes the summation order and so the results. Four threads at most, since these models
    gain little beyond that.

    Example:
        >>> search_threads(2), search_threads(8)
        (1, 4)
    """
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores - 1, 4))


def configure_threads(threads: int | None = None) -> int:
    """Apply the thread choice for this process and return it.

    ``threads`` wins, then a user's ``OMP_NUM_THREADS``, then :func:`search_threads`. The CLI and
    the notebooks call this once at start.
    """
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else search_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ToolkitError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)
    return_freed_memory()
    return threads


MMAP_THRESHOLD = 128 * 1024  # glibc's initial M_MMAP_THRESHOLD, kept fixed


@functools.cache
def return_freed_memory() -> bool:
    """Let the C allocator hand freed activation memory back to the system (glibc; once per process).

    glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), so after the first
    step most activations come from the heap, whose freed space stays resident: a search step's peak
    RSS grew by 15-26 MiB more than its tensors needed (PC-DARTS / ADARTS at ``cpu-small``, see
    ``bench/RESULTS.md``). A fixed threshold (setting it turns the adjustment off) keeps large tensors
    in their own mappings, returned on free. Returns whether it applied (False off glibc).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, MMAP_THRESHOLD))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block with the global generators (Python, NumPy, torch CPU and CUDA) seeded from ``seed``,
    then give the caller its own states back, also when the block raises.

    A run draws its random numbers (weight initialisation, dropout, drop-path) from these generators
    and its loaders shuffle with generators of their own, so a run neither depends on nor disturbs
    the caller's random state, and a run started inside another (from a listener) leaves the outer
    run's random sequence as it was.
    """
    saved = rng_state()
    seed_everything(seed)
    try:
        yield
    finally:
        set_rng_state(saved)


def rng_state() -> dict:
    """All RNG states as tensors and plain values (loadable with ``weights_only=True``)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
