"""DCMHA's cross-head compose kernel (DCFormer, Xiao et al. 2024), alone: the model (models/dcformer.py) composes its
heads with it in the forward, and the capture layer (tiles.py) with it again when it rebuilds a long text's maps
from what a linear capture recorded. Pure torch, no model.
"""

from __future__ import annotations

import torch


def compose(
    a: torch.Tensor,
    qw1: torch.Tensor,
    qw2: torch.Tensor,
    kw1: torch.Tensor,
    kw2: torch.Tensor,
    qdd: torch.Tensor,
    kdd: torch.Tensor,
    static: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-head compose in factored form: out[:, t, s] = C_ts @ a[:, t, s].

    a: (B, H, T, S); qw1, qw2: (B, T, R, H); kw1, kw2: (B, S, R, H); qdd: (B, T, H); kdd: (B, S, H);
    static: (H, H) in C orientation (out_n += sum_m static[n, m] * a_m) or None.
    C_ts = I + static + sum_i qw2[t,i] qw1[t,i]^T + diag(qdd[t]) + sum_i kw2[s,i] kw1[s,i]^T + diag(kdd[s]).
    Cost O(B*H*T*S*R); C_ts itself is never built.
    """
    # query-wise low rank: hidden[b,i,t,s] = sum_m a[b,m,t,s] * qw1[b,t,i,m]; out_n += hidden_i * qw2[t,i,n]
    qh = torch.einsum("bmts,btim->bits", a, qw1)  # (B, R, T, S)
    out = a + torch.einsum("bits,btin->bnts", qh, qw2)  # residual identity + query-wise
    # key-wise low rank: the same with the KEY token's weights
    kh = torch.einsum("bmts,bsim->bits", a, kw1)  # (B, R, T, S)
    out = out + torch.einsum("bits,bsin->bnts", kh, kw2)  # (B, H, T, S)
    out = out + a * qdd.transpose(1, 2).unsqueeze(-1)  # query gate (B, H, T, 1)
    out = out + a * kdd.transpose(1, 2).unsqueeze(-2)  # key gate   (B, H, 1, S)
    if static is not None:
        out = out + torch.einsum("nm,bmts->bnts", static, a)
    return out
