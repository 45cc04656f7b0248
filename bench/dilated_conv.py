"""A stride-2, dilation-2 depthwise convolution (DARTS' dil_conv on a reduction edge): as torch runs it
against :func:`toolkit.ops.conv2d`, which runs it undilated on every second pixel.

Forward and backward (input and weight gradients) of the fused shapes of ``bench/search_step.py``'s
``cpu-small`` reduction cells (8 edges x C channels, batch 32), median of 9, one torch thread; both
layouts. Also checks that the two give the same output.

Example, from the repository root:
    .venv/bin/python bench/dilated_conv.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from toolkit.ops import conv2d  # noqa: E402

SHAPES = [(128, 16, 3), (128, 16, 5), (256, 8, 3), (256, 8, 5)]  # channels, input size, kernel


def timed(fn, x, w, k) -> tuple[float, torch.Tensor]:
    """Median ms of forward + backward of ``fn(x, w, stride, padding, dilation, groups)``."""
    times = []
    for _ in range(9):
        start = time.perf_counter()
        out = fn(x, w, 2, k - 1, 2, x.shape[1])
        torch.autograd.grad(out, [x, w], torch.ones_like(out))
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), out.detach()


def main() -> None:
    torch.set_num_threads(1)
    print("| channels | size | kernel | layout | torch ms | toolkit ms | speed-up | same output |")
    print("|---|---|---|---|---|---|---|---|")
    for C, size, k in SHAPES:
        for layout, name in ((torch.channels_last, "channels-last"), (torch.contiguous_format, "default")):
            x = torch.randn(32, C, size, size).contiguous(memory_format=layout).requires_grad_()
            w = torch.randn(C, 1, k, k, requires_grad=True)
            ref, a = timed(lambda x, w, *rest: F.conv2d(x, w, None, *rest), x, w, k)
            mine, b = timed(conv2d, x, w, k)
            print(f"| {C} | {size} | {k} | {name} | {ref:.1f} | {mine:.1f} | {ref / mine:.1f}x | {torch.equal(a, b)} |")


if __name__ == "__main__":
    main()
