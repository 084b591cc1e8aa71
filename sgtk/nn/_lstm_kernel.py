"""The LSTM's two time loops: C++ (``_lstm_kernel.cpp``) where it builds, Python otherwise.

Both loops compute the same maths on gates in (i, f, o, g) order and save the same tensors, so
either backward serves either forward. :func:`forward_loop` returns the activations
``acts`` [T, B, 4H], ``cs`` and ``hs`` [T+1, B, H] (step 0 is the initial state) and
``tanh_c`` [T, B, H]; :func:`backward_loop` returns d(pre-activation) ``dgates`` [T, B, 4H]
and the gradients of h0 and c0.

The C++ loop fuses each step's ~10 element-wise ops into one pass; the GEMMs stay ATen.
``torch.utils.cpp_extension.load`` compiles the source once per machine into the torch
extensions dir (``TORCH_EXTENSIONS_DIR``, by default ``~/.cache/torch_extensions``); later
processes load the cached library in well under a second. Where there is no compiler or the
build fails, or with ``SGTK_NO_EXT=1``, :func:`lstm_kernel` returns ``None`` and the LSTM runs
its Python loop, which computes the same maths.

torch guards the build folder with a lock file that a killed build leaves behind and waits on
forever; :mod:`sgtk.nn._build_turn` takes a stale one over and bounds the wait.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sgtk.nn._build_turn import release, take_turn
from sgtk.progress import working

log = logging.getLogger(__name__)
_SOURCE = Path(__file__).with_suffix(".cpp")
_lock = threading.Lock()
_state: dict[str, object] = {}

# Compile for the vector width ATen itself picked on this CPU, so that a cached build never
# runs on a CPU without those instructions: the capability is part of the extension's name.
_ARCH_FLAGS = {
    "AVX512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"],
    "AVX2": ["-mavx2", "-mfma"],
}


def disabled() -> bool:
    return os.environ.get("SGTK_NO_EXT", "") not in ("", "0")


def lstm_kernel() -> object | None:
    """The ops (``.forward``, ``.backward``), or ``None`` where disabled or not buildable."""
    return load_once(_state, _lock, "sgtk_lstm", _SOURCE, "LSTM")


def load_once(
    state: dict[str, object], lock: threading.Lock, name: str, source: Path, what: str
) -> object | None:
    """A kernel's ops, built (or loaded) on the first call per process and kept in ``state``
    with the seconds that took; ``None`` where disabled or not buildable. ``SGTK_NO_EXT`` is
    read on every call. Every sgtk kernel's loader is this with its own state and source."""
    if disabled():
        return None
    if "module" not in state:
        with lock:
            if "module" not in state:
                start = time.perf_counter()
                state["module"] = build_extension(name, source, what)
                state["seconds"] = time.perf_counter() - start
    return state["module"]


def build_seconds() -> float | None:
    """Seconds the first :func:`lstm_kernel` call took here (a cache hit is fast)."""
    return _state.get("seconds")  # type: ignore[return-value]


def _missing_tool() -> str | None:
    from torch.utils.cpp_extension import is_ninja_available

    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler})"
    return None if is_ninja_available() else "no ninja"


def build_extension(name: str, source: Path, what: str) -> object | None:
    """Build (or load the cached) ``source``, whose ``TORCH_LIBRARY`` namespace is ``name``,
    as ``<name>_<capability>``; its ops, or ``None`` with one line saying why. Every sgtk
    kernel goes through here (``what`` names it in that line): one lock scheme, one flag set."""
    from torch.utils.cpp_extension import load

    missing = _missing_tool()  # say so in one line, before torch's own multi-line warnings
    if missing is not None:
        log.warning(
            "sgtk: %s, so the %s runs its Python loop (SGTK_NO_EXT=1: quiet)", missing, what
        )
        return None

    cap = torch.backends.cpu.get_cpu_capability()
    # -fno-trapping-math lets gcc vectorise the clamps in exp_fast; it changes no result.
    flags = ["-O3", "-fno-trapping-math", *_ARCH_FLAGS.get(cap, [])]
    full_name = f"{name}_{cap.lower()}"
    try:
        from torch.utils.cpp_extension import _get_build_directory

        turn, why_not = take_turn(Path(_get_build_directory(full_name, verbose=False)))
    except OSError as exc:  # an unwritable extensions folder: torch could not build there
        turn, why_not = None, f"no C++ {what} kernel ({exc})"
    if why_not is not None:
        log.warning("sgtk: %s; using the Python loop (same results)", why_not)
        return None
    log.info("building the C++ %s kernel (once per machine, about a minute)", what)
    try:
        # A TORCH_LIBRARY op, not a pybind11 module: no pybind11 headers to compile.
        with working(f"building the C++ {what} kernel (once per machine, about a minute)"):
            load(
                name=full_name,
                sources=[str(source)],
                extra_cflags=flags,
                is_python_module=False,
                verbose=False,
            )
        module = getattr(torch.ops, name)
    except Exception as exc:  # no compiler, no ninja, a failed build: the Python loop runs
        # One line, not the compiler's log: this repeats in every process on such a machine.
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        log.warning(
            "sgtk: no C++ %s kernel (%s); using the Python loop (SGTK_NO_EXT=1 skips the try)",
            what,
            first,
        )
        module = None
    finally:
        release(turn)
    return module


def kernel_for(t: Tensor, kernel: Callable[[], object | None]) -> Any:
    """``kernel()``'s ops where they apply to ``t`` (float32/64 on the CPU, not under
    ``torch.compile``: the ops have no fake-tensor rule, so dynamo traces the Python loop)."""
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return None
    if torch.compiler.is_compiling():
        return None
    return kernel()


def _kernel_for(t: Tensor) -> Any:
    return kernel_for(t, lstm_kernel)


def forward_loop(x: Tensor, h0: Tensor, c0: Tensor, w_x: Tensor, w_h: Tensor, b: Tensor):
    """x [T, B, d] time-major; weights in (i, f, o, g) order."""
    kernel = _kernel_for(x)
    if kernel is None:
        return _forward_python(x, h0, c0, w_x, w_h, b)
    steps, batch = x.shape[:2]
    xg = torch.addmm(b, x.reshape(steps * batch, -1), w_x.t()).view(steps, batch, -1)
    return kernel.forward(xg, h0.contiguous(), c0.contiguous(), w_h.contiguous())


def backward_loop(grad_hs: Tensor, dc: Tensor, acts, cs, tanh_c, w_h: Tensor):
    """grad_hs [T, B, H]: the output gradients; dc: the gradient of c_T."""
    kernel = _kernel_for(acts)
    if kernel is None:
        return _backward_python(grad_hs, dc, acts, cs, tanh_c, w_h)
    return kernel.backward(grad_hs, dc, acts, cs, tanh_c, w_h.contiguous())


def _forward_python(x, h0, c0, w_x, w_h, b):
    steps, batch = x.shape[:2]
    hidden = h0.shape[-1]
    s = 3 * hidden
    # tanh(z) = 2 sigmoid(2z) - 1: ATen's CPU tanh is several times slower than its sigmoid,
    # so the g rows are pre-scaled by 2 and one sigmoid covers all four gates.
    scale = torch.ones(4 * hidden, 1, dtype=w_x.dtype, device=w_x.device)
    scale[s:] = 2
    xg = torch.addmm(b * scale[:, 0], x.reshape(steps * batch, -1), (w_x * scale).t())
    xg = xg.view(steps, batch, -1)
    w_h2_t = (w_h * scale).t()
    acts = torch.empty_like(xg)
    cs = torch.empty(steps + 1, batch, hidden, dtype=xg.dtype, device=xg.device)
    hs = torch.empty_like(cs)
    tanh_c = torch.empty(steps, batch, hidden, dtype=xg.dtype, device=xg.device)
    # The loop carries 2c, so that tanh(c) = 2 sigmoid(2c) - 1 needs no extra scaling.
    torch.mul(c0, 2, out=cs[0])
    hs[0] = h0
    for t in range(steps):
        a = torch.addmm(xg[t], hs[t], w_h2_t, out=acts[t]).sigmoid_()
        i, f, o, sg = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden : s], a[:, s:]
        # 2c = f * 2c + 2 i g, with g = 2 sg - 1
        torch.mul(f, cs[t], out=cs[t + 1]).addcmul_(i, sg, value=4).add_(i, alpha=-2)
        sig = torch.sigmoid(cs[t + 1], out=tanh_c[t])
        torch.addcmul(o.neg(), o, sig, value=2, out=hs[t + 1])  # h = tanh(c) o
    cs.mul_(0.5)
    tanh_c.mul_(2).sub_(1)
    acts[..., s:].mul_(2).sub_(1)
    return acts, cs, hs, tanh_c


def _backward_python(grad_hs, dc, acts, cs, tanh_c, w_h):
    steps, hidden = acts.shape[0], cs.shape[-1]
    s = 3 * hidden
    i, f, o, g = (acts[..., k * hidden : (k + 1) * hidden] for k in range(4))
    # Everything that does not depend on the running (dh, dc) is computed for all steps at
    # once: d gate_pre = [dc, dc, dh, dc] * coef, with coef = the other factor times the
    # activation's derivative. The loop is then six ops a step.
    coef = torch.addcmul(acts, acts, acts, value=-1)  # sigmoid' = a - a^2
    torch.addcmul(torch.ones_like(g), g, g, value=-1, out=coef[..., s:])  # tanh' = 1 - g^2
    coef.mul_(torch.cat([g, cs[:-1], tanh_c, i], dim=-1))
    o_dtanh = o * (1 - tanh_c * tanh_c)  # dc/dh through h = o * tanh(c)
    dgates = torch.empty_like(acts)
    dh = torch.zeros_like(cs[0])
    dc = dc.clone()
    # A loss on the last step only (a classifier) leaves the other output grads zero.
    has_grad = grad_hs.flatten(1).ne(0).any(1).tolist()
    for t in range(steps - 1, -1, -1):
        if has_grad[t]:
            dh.add_(grad_hs[t])
        dc.addcmul_(dh, o_dtanh[t])
        torch.mul(torch.cat([dc, dc, dh, dc], dim=1), coef[t], out=dgates[t])
        dc.mul_(f[t])
        dh = dgates[t] @ w_h
    return dgates, dh, dc
