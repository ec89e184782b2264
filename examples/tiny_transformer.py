"""A one-block character-level transformer trained on a short story shipped with the examples.

Characters are embedded (``nn.Embedding``, plus a learnt position embedding), go through
one pre-norm block

    h = x + Dropout(MultiheadAttention(LayerNorm(x), causal))
    y = h + Dropout(Linear(GELU(Linear(LayerNorm(h)))))

and a final LayerNorm and Linear give the logits of the next character. Training minimises
the mean cross-entropy over every position (``F.cross_entropy`` on (B, vocab, T) logits, as
in torch) with Adam; the loss falls from log(vocab) towards the text's entropy.

Because the batch is ``batched=True``, the same backward also keeps each sequence's own
gradient: the script prints each sequence's whole-gradient norm (the attention projections
and embeddings by their factored rules), then samples a line of text from the trained model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the package when it is not installed

import tinygrad_lite as tl  # noqa: E402

nn, F = tl.nn, tl.nn.functional
TEXT = HERE / "data" / "tiny_text.txt"


class TinyTransformer(nn.Module):
    """Token and position embeddings, one pre-norm attention block, a language-model head."""

    def __init__(self, vocab: int, T: int, E: int = 48, H: int = 4, p: float = 0.1) -> None:
        self.tok, self.pos = nn.Embedding(vocab, E), nn.Embedding(T, E)
        self.ln1, self.attn, self.drop1 = nn.LayerNorm(E), nn.MultiheadAttention(E, H), nn.Dropout(p)
        self.ln2, self.ff = nn.LayerNorm(E), nn.Sequential(nn.Linear(E, 4 * E), nn.GELU(), nn.Linear(4 * E, E))
        self.drop2, self.ln_f, self.head = nn.Dropout(p), nn.LayerNorm(E), nn.Linear(E, vocab)

    def forward(self, idx: Any) -> tl.Tensor:
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(np.arange(T))
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, is_causal=True, need_weights=False)
        x = x + self.drop1(a)
        x = x + self.drop2(self.ff(self.ln2(x)))
        return self.head(self.ln_f(x))  # (B, T, vocab)


def batches(data: np.ndarray, T: int, B: int, rng: np.random.Generator) -> tuple:
    """B random windows of T characters and the next character of each position."""
    start = rng.integers(0, len(data) - T - 1, size=B)
    pos = start[:, None] + np.arange(T)
    return data[pos], data[pos + 1]


@tl.no_grad()
def sample(model: TinyTransformer, prompt: str, n: int, stoi: dict, itos: list, T: int,
           rng: np.random.Generator, temperature: float = 0.8) -> str:
    model.eval()
    ids = [stoi[c] for c in prompt]
    for _ in range(n):
        ctx = np.array(ids[-T:])[None]
        logits = model(ctx).data[0, -1] / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return "".join(itos[i] for i in ids)


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train the tiny transformer, print the loss falling and per-sequence gradient norms, sample a line."""
    tl.manual_seed(0)
    text = TEXT.read_text()
    itos = sorted(set(text))
    stoi = {c: i for i, c in enumerate(itos)}
    data = np.array([stoi[c] for c in text])
    T, B = 32, 32
    steps = 80 if fast else 1500
    rng = np.random.default_rng(0)
    model = TinyTransformer(len(itos), T)
    opt = tl.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    losses = []
    for step in range(steps):
        xb, yb = batches(data, T, B, rng)
        opt.zero_grad()
        logits = model(tl.Tensor(xb, batched=True))
        loss = F.cross_entropy(logits.transpose(0, 2, 1), yb)
        loss.backward(per_sample=False)
        tl.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.data))
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {np.mean(losses[-10:]):.3f}")

    # one more batch: the same backward keeps each sequence's own gradient
    xb, yb = batches(data, T, B, rng)
    model.zero_grad()
    F.cross_entropy(model(tl.Tensor(xb, batched=True)).transpose(0, 2, 1), yb).backward()
    norms = tl.per_sample_norms(model.parameters())
    attn_norms = model.attn.in_proj_weight.grad_sample_norm
    hardest = int(np.argmax(norms))
    line = sample(model, "the ", 60, stoi, itos, T, np.random.default_rng(1))
    print(f"{len(text)} characters, vocabulary of {len(itos)}; {steps} steps of {B} windows of {T}")
    print(f"loss: first 10 steps {np.mean(losses[:10]):.3f} (log vocab = {np.log(len(itos)):.3f}), "
          f"last 10 steps {np.mean(losses[-10:]):.3f}")
    print(f"per-sequence gradient norms: min {norms.min():.3f}, median {np.median(norms):.3f}, max {norms.max():.3f}"
          f"; in_proj_weight alone (factored): median {np.median(attn_norms):.3f}")
    print(f"hardest window: {''.join(itos[i] for i in xb[hardest])!r}")
    print(f"sample: {line!r}")
    return {"losses": losses, "vocab": len(itos), "norms": norms, "attn_norms": attn_norms, "sample": line,
            "B": B, "charset": set(itos)}


if __name__ == "__main__":
    main()
