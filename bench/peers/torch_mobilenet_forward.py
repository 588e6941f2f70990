#!/usr/bin/python3
"""Peer for the featurization benchmark: PyTorch (Debian python3-torch 1.13) torchvision mobilenet_v2, fp32 forward,
batch 32 at 224 px, random weights (no download; speed does not depend on weights), same thread count as ORT."""
import sys, time, torch, torchvision
n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
torch.set_num_threads(2)
model = torchvision.models.mobilenet_v2().eval()
x = torch.randn(32, 3, 224, 224)
with torch.inference_mode():
    model(x)
    start = time.perf_counter()
    done = 0
    while done < n:
        model(x[: min(32, n - done)])
        done += min(32, n - done)
    s = time.perf_counter() - start
print(f"| PyTorch {torch.__version__} torchvision mobilenet_v2 fp32 forward, batch 32 | {n} | {s:.2f} | {n / s:.0f} |")
