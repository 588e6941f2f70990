#!/usr/bin/python3
"""Peer for the ResNet-18 fine-tuning throughput benchmark: PyTorch (Debian python3-torch 1.13) torchvision resnet18
(random weights, no download) with a 10-class head, batch 32, 2 threads: full training step (SGD, cross-entropy) and
eval forward, img/s at the sizes given (default 96 224)."""
import sys, time, torch, torchvision
torch.set_num_threads(2)
sizes = [int(a) for a in sys.argv[1:] if a.isdigit()] or [96, 224]
iters = 3 if "--quick" in sys.argv else 5
model = torchvision.models.resnet18()
model.fc = torch.nn.Linear(512, 10)
opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
for size in sizes:
    x = torch.randn(32, 3, size, size); y = torch.randint(0, 10, (32,))
    model.train()
    def step():
        opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
    step(); t = time.perf_counter()
    for _ in range(iters): step()
    s = 32 * iters / (time.perf_counter() - t)
    model.eval()
    with torch.inference_mode():
        model(x); t = time.perf_counter()
        for _ in range(iters): model(x)
        f = 32 * iters / (time.perf_counter() - t)
    print(f"| PyTorch {torch.__version__} resnet18 | {size} | 32 | train step {s:.1f} | forward {f:.1f} |", flush=True)
