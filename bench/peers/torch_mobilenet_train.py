#!/usr/bin/python3
"""Peer for the TorchSharp bridge benchmark: PyTorch (Debian python3-torch 1.13) torchvision mobilenet_v2 (random weights,
no download), batch 32, 2 threads: eval forward and full training step (SGD, cross-entropy) img/s at 96 and 224 px."""
import sys, time, torch, torchvision
torch.set_num_threads(2)
quick = "--quick" in sys.argv
model = torchvision.models.mobilenet_v2()
opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
print("| pass | image size | batch | img/s |")
print("|---|---|---|---|")
for size in (96, 224):
    iters = 3 if quick else (20 if size == 96 else 6)
    x = torch.randn(32, 3, size, size); y = torch.randint(0, 1000, (32,))
    model.eval()
    with torch.inference_mode():
        model(x); t = time.perf_counter()
        for _ in range(iters): model(x)
        f = 32 * iters / (time.perf_counter() - t)
    print(f"| PyTorch {torch.__version__} forward (eval) | {size} | 32 | {f:.1f} |")
    model.train()
    def step():
        opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
    step(); t = time.perf_counter()
    for _ in range(iters): step()
    s = 32 * iters / (time.perf_counter() - t)
    print(f"| PyTorch {torch.__version__} training step | {size} | 32 | {s:.1f} |")
