"""attnviz.figures.dcmha: pure figure builders (data in, figure out)."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.figures import dcmha as figs

PART_TITLES = {
    "identity": "I",
    "query": "Q",
    "key": "K",
    "query_gate": "qdd",
    "key_gate": "kdd",
    "static": "W",
    "C": "C",
}


def parts(H=4, seed=0):
    rng = np.random.default_rng(seed)
    p = {
        "identity": np.eye(H),
        "query": rng.normal(size=(H, H)),
        "key": rng.normal(size=(H, H)),
        "query_gate": np.diag(rng.normal(size=H)),
        "key_gate": np.diag(rng.normal(size=H)),
        "static": np.zeros((H, H)),
    }
    p["C"] = sum(p.values())
    return p


def test_compose_parts_panels_scale_and_axes():
    p = parts()
    fig = figs.compose_parts(p, title="C", part_titles=PART_TITLES, x_title="input head m", y_title="output head n")
    assert [t.name for t in fig.data] == ["I", "Q", "K", "qdd", "kdd", "C"]  # zero static part left out
    for trace, key in zip(fig.data, ["identity", "query", "key", "query_gate", "key_gate", "C"]):
        np.testing.assert_allclose(np.asarray(trace.z), p[key], atol=1e-6)
    ax, ax2 = fig.layout.coloraxis, fig.layout.coloraxis2
    assert ax.cmid == 0 and ax.cmin == -ax.cmax and ax.cmax == pytest.approx(np.abs(p["C"]).max(), rel=1e-5)
    dyn = max(np.abs(p[k]).max() for k in ("query", "key", "query_gate", "key_gate"))
    assert ax2.cmid == 0 and ax2.cmin == -ax2.cmax and ax2.cmax == pytest.approx(dyn, rel=1e-5)
    assert [t.coloraxis for t in fig.data] == ["coloraxis"] + ["coloraxis2"] * 4 + ["coloraxis"]
    assert fig.layout.yaxis.title.text == "output head n" and fig.layout.yaxis.autorange == "reversed"
    assert any(getattr(fig.layout[f"xaxis{i}"].title, "text", None) == "input head m" for i in ["", 2, 3, 4, 5, 6])
    p["static"] = np.ones((4, 4))
    assert len(figs.compose_parts(p, title="C", part_titles=PART_TITLES).data) == 7


def stages(T=6, negative=True, seed=1):
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(T, T))
    probs = np.tril(rng.random((T, T)))
    probs /= probs.sum(1, keepdims=True)
    pattern = probs - (0.2 if negative else 0.0) * np.tril(np.ones((T, T)))
    return {"raw": raw, "composed": raw * 1.5, "probs": probs, "pattern": pattern}


TITLES = {k: k for k in ("raw", "composed", "dpre", "probs", "pattern", "dpost")}


def test_stage_figure_masks_differences_and_diverging_post():
    st = stages()
    T = 6
    allowed = np.tril(np.ones((T, T), dtype=bool))
    tokens = ["<b>", "a", "␣", "b", "c", "d"]
    fig = figs.stage_figure(
        st,
        tokens,
        allowed,
        title="s",
        panel_titles=TITLES,
        shapes=figs.structure_shapes(T, 3, True, [(0, 3, 0, 3), (3, 6, 1, 6)], selected=(4, 2)),
    )
    z = {t.name: np.asarray(t.z, dtype=float) for t in fig.data}
    assert np.isnan(z["raw"][~allowed]).all() and not np.isnan(z["raw"][allowed]).any()
    np.testing.assert_allclose(z["dpre"][allowed], (st["composed"] - st["raw"])[allowed], atol=1e-5)
    np.testing.assert_allclose(z["dpost"][allowed], (st["pattern"] - st["probs"])[allowed], atol=1e-5)
    by_name = {t.name: t for t in fig.data}
    assert by_name["pattern"].zmid == 0 and by_name["pattern"].zmin < 0  # negative post-composed values: diverging
    assert by_name["raw"].zmid == 0 and by_name["probs"].zmin == 0
    assert fig.layout.yaxis.ticktext[0] == "&lt;b&gt;"  # tokens are escaped
    assert len(fig.layout.shapes) == 6 * 4  # band + 2 chunk boxes + selected cell, on each of 6 panels
    assert {s.xref for s in fig.layout.shapes} == {"x", "x2", "x3", "x4", "x5", "x6"}


def test_stage_figure_sequential_when_post_is_non_negative():
    fig = figs.stage_figure(stages(negative=False), list("abcdef"), None, title="s", panel_titles=TITLES)
    pattern = next(t for t in fig.data if t.name == "pattern")
    assert (
        pattern.zmin == 0 and pattern.colorscale[0][1] != next(t for t in fig.data if t.name == "raw").colorscale[0][1]
    )


def test_window_band_path_outlines_exactly_the_band():
    path = figs.window_band_path(4, 2)
    assert path.startswith("M 0.5,-0.5 L 0.5,0.5 L 1.5,0.5") and path.endswith("Z")
    assert figs.window_band_path(4, None) is None
    assert [s["name"] for s in figs.structure_shapes(10, None, True, [(0, 10, 0, 10)])] == []  # one chunk: nothing


def test_token_head_maps_and_grids():
    gates = {"pre_qdd": np.linspace(-0.5, 0.5, 12).reshape(6, 2)}
    fig = figs.token_head_maps(gates, list("abcdef"), title="g", panel_titles={"pre_qdd": "q"}, limit=1.0)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), gates["pre_qdd"].T)  # heads × tokens
    assert fig.layout.coloraxis.cmin == -1 and fig.layout.coloraxis.cmid == 0
    maps = np.stack([np.tril(np.ones((5, 5))) * h for h in range(3)]) - 0.5
    grid = figs.head_grid(maps, np.tril(np.ones((5, 5), dtype=bool)), title="h", columns=3)
    assert grid.layout.coloraxis.cmid == 0  # negatives -> diverging
    assert [t.name for t in grid.data] == ["masked", "head 0", "masked", "head 1", "masked", "head 2"]
    assert (
        np.isnan(np.asarray(grid.data[1].z, dtype=float)[0, 1]) and np.asarray(grid.data[0].z, dtype=float)[0, 1] == 0
    )
    # side by side, one colour means one number: a negative map anywhere makes every panel diverging, same limits
    side = figs.side_by_side([("a", np.eye(5)), ("b", -0.5 * np.eye(5))], list("abcde"), None, title="c")
    assert [t.colorscale for t in side.data][0] == side.data[1].colorscale
    assert all(t.zmid == 0 and t.zmin == -1.0 and t.zmax == 1.0 for t in side.data)
    calm = figs.side_by_side([("a", np.eye(5)), ("b", 0.25 * np.eye(5))], list("abcde"), None, title="c")
    assert all(t.zmin == 0 and t.zmax == 1.0 and t.zmid is None for t in calm.data)
    sg = figs.stage_grid(
        {k: np.repeat(v[None], 2, 0) for k, v in stages().items()},
        None,
        title="g",
        column_titles={k: k for k in ("raw", "composed", "probs", "pattern")},
    )
    assert len(sg.data) == 8


def test_draw_matrices_and_bars():
    fig = figs.draw_matrices([("pre", np.full((3, 3), 0.1)), ("post", np.eye(3))], title="d")
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    bars = figs.head_bars({"x": np.arange(3), "y": np.ones(3)}, title="b", highlight=1)
    assert len(bars.data) == 2 and len(bars.layout.shapes) == 1


def test_dcmha_maps_over_the_payload_budget_are_block_averaged():
    """A 1,024-character DCMHA slide was 26 MB of JSON: maps are block means at their blocks' first positions."""
    from attnviz.figures.attention import MAX_DRAWN_TOKENS
    from attnviz.figures.dcmha import side_by_side

    n = 2 * MAX_DRAWN_TOKENS
    rng = np.random.default_rng(1)
    a, b = rng.random((n, n)), -rng.random((n, n))
    fig = side_by_side([("A", a), ("B", b)], [chr(97 + i % 26) for i in range(n)], None, title="t")
    for trace, source in zip(fig.data, (a, b)):
        z = np.asarray(trace.z, dtype=float)
        assert z.shape == (MAX_DRAWN_TOKENS, MAX_DRAWN_TOKENS)
        np.testing.assert_allclose(
            z, source.reshape(MAX_DRAWN_TOKENS, 2, MAX_DRAWN_TOKENS, 2).mean(axis=(1, 3)), rtol=1e-6
        )
        assert list(trace.x[:2]) == [0, 2] and "block average" in trace.hovertemplate
    assert len(fig.to_json()) < 6_000_000
