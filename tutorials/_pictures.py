"""Generated pictures of windows moving over a padded input (matplotlib only).

A helper of the tutorials (the leading underscore keeps sphinx-gallery from
running it as one) and of the docs build, which calls :func:`save_all` for the
pictures of the API pages.  Nothing here is drawn by hand: every size, padding
and count in a picture comes from nabla itself (the output shapes from running
the op on zeros, the padding of ``"SAME"`` from nabla's own rule, the overlap
counts of ``conv2d_transpose`` and the divisors of ``avg_pool2d`` checked
against the op's numbers), so a picture cannot disagree with the library.

Coordinates: one unit per cell, rows downwards.  Input rows and columns are
labelled with their index in the *unpadded* input, so padding cells have
negative indices (top/left) or indices >= H (bottom/right).

    conv2d_windows(H, W, kernel, stride, padding, dilation)    conv2d's windows
    conv2d_transpose_scatter(H, W, kernel, stride, padding)    the scatter view
    pool_windows(H, W, kernel_size, stride, padding, ...)      pooling windows
    groups_diagram(c_in, c_out, groups)                        channels per group
    save_all(outdir)                                           the API pages' PNGs
"""
from __future__ import annotations

import numbers
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

import nabla as nb
from nabla import _args

__all__ = ["conv2d_windows", "conv2d_transpose_scatter", "pool_windows", "groups_diagram", "save_all"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")   # one per highlighted window
INPUT_FACE = "white"
PAD_FACE = "#d4d4d4"
CEIL_FACE = "#fdd0a2"
CROP_FACE = "#bdbdbd"
GRID_EDGE = "#7f7f7f"
CELL = 0.5      # inches per cell when a function makes its own figure
GAP = 2.5       # cells between the input and the output grid
# Where, inside a cell, the tap dot of the k-th highlighted window goes (so that
# overlapping windows stay distinguishable and a value printed at the centre stays
# readable).
_DOT_OFFSETS = ((-0.27, -0.27), (0.27, -0.27), (-0.27, 0.27), (0.27, 0.27))


# ----------------------------------------------------------------- geometry
def _pair(v):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    a, b = v
    return (int(a), int(b))


def _zeros(*shape):
    return np.zeros(shape, np.float32)


def _window_formula(n, k, s, d, p0, p1, out, ceil=False):
    """The output-size formula of conv2d / the pools with the numbers filled in."""
    span = n + p0 + p1 - d * (k - 1) - 1
    rnd = "ceil" if ceil else "floor"
    raw = (-(-span // s) if ceil else span // s) + 1
    text = f"{rnd}(({n} + {p0} + {p1} - {d}·({k} - 1) - 1) / {s}) + 1"
    if raw != out:       # ceil_mode's rule: a last window may not start in the bottom padding
        return f"{text} - 1 = {out}\n    (- 1: a last window may not start in the bottom padding)"
    return f"{text} = {out}"


def _size_title(op, symbolic, lines_h, lines_w):
    """``H_out = W_out = ...`` when both axes give the same text, else two lines."""
    if lines_h == lines_w:
        return f"{symbolic}\nH_out = W_out = {lines_h}"
    return f"{symbolic}\nH_out = {lines_h}\nW_out = {lines_w}"


def _describe(op, H, W, **kw):
    """``op: HxW input`` and the call's options, wrapped to fit a figure's width."""
    parts = []
    for name, v in kw.items():
        if isinstance(v, tuple) and len(set(v)) == 1:
            v = v[0]
        parts.append(f"{name}={v!r}" if isinstance(v, (str, bool)) else f"{name}={v}")
    lines, line = [], f"{op}({H}x{W} input"
    for part in parts:                      # break between arguments only
        if len(line) + len(part) + 2 > 76:
            lines.append(line + ",")
            line = "    " + part
        else:
            line += ", " + part
    return "\n".join(lines + [line + ")"])


def _default_positions(ho, wo):
    """(0, 0), its right neighbour (one stride away) and the last output: the corners
    where padding matters and one step of the stride."""
    out = []
    for p in ((0, 0), (0, 1), (ho - 1, wo - 1)):
        if 0 <= p[0] < ho and 0 <= p[1] < wo and p not in out:
            out.append(p)
    return out


# ----------------------------------------------------------------- drawing
def _new_axes(n_cols, n_rows, ax, extra_h=2.0):
    """``ax``, or a new figure's axes sized to the grid (through pyplot, so that
    sphinx-gallery's scraper finds it, when pyplot is already in use)."""
    if ax is not None:
        return ax
    size = (max(CELL * n_cols + 0.6, 5.5), CELL * n_rows + extra_h)
    import sys
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=size)
    else:
        ax = Figure(figsize=size).add_subplot()
    return ax


def _rect(ax, x, y, w, h, **kw):
    ax.add_patch(Rectangle((x, y), w, h, **kw))


def _grid(ax, x0, y0, faces, texts=None, hatches=None, fontsize=8, text_colors=None):
    """A grid of cells at (x0, y0): ``faces[r][c]`` colours, optional texts/hatches."""
    rows, cols = len(faces), len(faces[0])
    for r in range(rows):
        for c in range(cols):
            hatch = hatches[r][c] if hatches is not None else None
            _rect(ax, x0 + c, y0 + r, 1, 1, facecolor=faces[r][c], edgecolor=GRID_EDGE, lw=0.8,
                  hatch=hatch, zorder=1)
            if texts is not None and texts[r][c]:
                color = text_colors[r][c] if text_colors is not None else "black"
                ax.text(x0 + c + 0.5, y0 + r + 0.5, texts[r][c], ha="center", va="center",
                        fontsize=fontsize, color=color, zorder=4)


def _index_labels(ax, x0, y0, rows, cols, row0, col0, n_in_rows, n_in_cols, fontsize=7):
    """Row indices left of the grid and column indices above it, in input
    coordinates (cell r is index r - row0); indices outside the input in grey."""
    for r in range(rows):
        i = r - row0
        inside = 0 <= i < n_in_rows
        ax.text(x0 - 0.25, y0 + r + 0.5, str(i), ha="right", va="center", fontsize=fontsize,
                color="black" if inside else "#8c8c8c")
    for c in range(cols):
        j = c - col0
        inside = 0 <= j < n_in_cols
        ax.text(x0 + c + 0.5, y0 - 0.2, str(j), ha="center", va="bottom", fontsize=fontsize,
                color="black" if inside else "#8c8c8c")


def _window(ax, x0, y0, top, left, k, d, idx, color):
    """Outline of one (dilated) window whose first tap is at canvas cell (top, left),
    and a dot on each of its k_h*k_w taps."""
    span_h, span_w = d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1
    inset = 0.06 + 0.05 * idx
    _rect(ax, x0 + left + inset, y0 + top + inset, span_w - 2 * inset, span_h - 2 * inset,
          fill=False, edgecolor=color, lw=2.2, zorder=5)
    dx, dy = _DOT_OFFSETS[idx % len(_DOT_OFFSETS)]
    xs = [x0 + left + b * d[1] + 0.5 + dx for a in range(k[0]) for b in range(k[1])]
    ys = [y0 + top + a * d[0] + 0.5 + dy for a in range(k[0]) for b in range(k[1])]
    ax.scatter(xs, ys, s=30, color=color, zorder=6, edgecolors="white", linewidths=0.5)


def _finish(ax, x_max, y_max, title, handles, ncol=3):
    ax.set_xlim(-1.3, x_max + 0.3)
    ax.set_ylim(y_max + 0.3, -1.0)         # rows downwards
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9.5, loc="left", family="monospace")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
              fontsize=8, frameon=False, handlelength=1.4, columnspacing=1.2)
    if ax.figure is not None:
        ax.figure.tight_layout()


def _fmt(v):
    v = float(v)
    return f"{v:.0f}" if v == round(v) and abs(v) < 1e5 else f"{v:.3g}"


# ----------------------------------------------------------------- conv2d
def conv2d_windows(H, W, kernel, stride=1, padding=0, dilation=1, ax=None, *, positions=None, x=None, y=None):
    """conv2d's windows: the padded input (padding shaded) with the taps of a few
    output positions' windows, and the output grid beside with the same positions.

    ``kernel``, ``stride``, ``dilation``: int or (h, w); ``padding``: anything
    :func:`nabla.conv2d` takes (int, pair, 4-tuple, ``"SAME"``, ``"VALID"``).
    ``positions``: output cells (i, j) to draw (default: (0, 0), (0, 1) and the
    last one).  ``x`` (H, W) / ``y`` (H_out, W_out): values to print in the cells.
    Returns the Axes.
    """
    k, s, d = _pair(kernel), _pair(stride), _pair(dilation)
    pt, pb, pl, pr = _args.window_padding("conv2d", padding, (H, W), k, s, d)
    ho, wo = nb.conv2d(_zeros(1, H, W, 1), _zeros(k[0], k[1], 1, 1), stride=s, padding=padding,
                       dilation=d).shape[1:3]
    rows, cols = H + pt + pb, W + pl + pr
    positions = _default_positions(ho, wo) if positions is None else [tuple(p) for p in positions]
    ax = _new_axes(cols + GAP + wo + 1.5, max(rows, ho) + 1.5, ax)

    inside = [[pt <= r < pt + H and pl <= c < pl + W for c in range(cols)] for r in range(rows)]
    faces = [[INPUT_FACE if inside[r][c] else PAD_FACE for c in range(cols)] for r in range(rows)]
    texts = None
    if x is not None:
        x = np.asarray(x)
        texts = [[_fmt(x[r - pt, c - pl]) if inside[r][c] else "0" for c in range(cols)] for r in range(rows)]
    colors = [["black" if inside[r][c] else "#8c8c8c" for c in range(cols)] for r in range(rows)]
    _grid(ax, 0, 0, faces, texts, text_colors=colors)
    _index_labels(ax, 0, 0, rows, cols, pt, pl, H, W)

    ox = cols + GAP
    out_faces = [["white"] * wo for _ in range(ho)]
    for idx, (i, j) in enumerate(positions):
        out_faces[i][j] = COLORS[idx % len(COLORS)] + "66"
    out_texts = [[_fmt(y[i][j]) for j in range(wo)] for i in range(ho)] if y is not None else None
    _grid(ax, ox, 0, out_faces, out_texts)
    _index_labels(ax, ox, 0, ho, wo, 0, 0, ho, wo)
    for idx, (i, j) in enumerate(positions):
        _window(ax, 0, 0, i * s[0], j * s[1], k, d, idx, COLORS[idx % len(COLORS)])
    ax.annotate("", xy=(ox - 0.75, min(ho, rows) / 2), xytext=(cols + 0.3, min(ho, rows) / 2),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="#555555"))
    ax.text(cols + GAP / 2 - 0.2, min(ho, rows) / 2 - 0.25, "conv2d", ha="center", va="bottom", fontsize=8)

    title = _size_title(
        "conv2d",
        _describe("conv2d", H, W, kernel=k, stride=s, padding=padding, dilation=d)
        + (f"\n{padding!r}: padding (top, bottom, left, right) = ({pt}, {pb}, {pl}, {pr})"
           if isinstance(padding, str) else "")
        + "\nH_out = floor((H + pt + pb - d·(k - 1) - 1) / s) + 1",
        _window_formula(H, k[0], s[0], d[0], pt, pb, ho), _window_formula(W, k[1], s[1], d[1], pl, pr, wo))
    handles = [Patch(facecolor=INPUT_FACE, edgecolor=GRID_EDGE, label="input cell")]
    if any((pt, pb, pl, pr)):
        handles.append(Patch(facecolor=PAD_FACE, edgecolor=GRID_EDGE, label="padding (zeros)"))
    for idx, (i, j) in enumerate(positions):
        handles.append(Line2D([], [], color=COLORS[idx % len(COLORS)], marker="o", lw=2,
                              label=f"taps of y[{i}, {j}]"))
    _finish(ax, ox + wo, max(rows, ho), title, handles, ncol=min(len(handles), 3))
    return ax


# ----------------------------------------------------------------- conv2d_transpose
def conv2d_transpose_scatter(H, W, kernel, stride=1, padding=0, dilation=1, output_padding=0, ax=None, *,
                             cells=None):
    """conv2d_transpose as a scatter: input cell (i, j) adds x[i, j]·w into the
    output at rows i·s + a·d, columns j·s + b·d.  Each output cell shows how many
    contributions it receives (shaded by count); the padding is then cropped
    (hatched) and the rest is the output (thick outline).

    ``padding``: int, pair, 4-tuple, ``"SAME"`` or ``"VALID"``; ``output_padding``:
    int or (h, w).  ``cells``: input cells whose footprints are outlined (default:
    (0, 0), (0, 1) and (1, 1)).  Returns the Axes.
    """
    k, s, d, opad = _pair(kernel), _pair(stride), _pair(dilation), _pair(output_padding)
    if isinstance(padding, str):
        (pt, pb, oph), (pl, pr, opw) = (_args.transpose_string_padding(k[0], s[0], d[0], padding.upper()),
                                        _args.transpose_string_padding(k[1], s[1], d[1], padding.upper()))
        kw = dict(padding=padding)
    else:
        pt, pb, pl, pr = _args.padding4("conv2d_transpose", padding)
        oph, opw = opad
        kw = dict(padding=padding, output_paddings=opad)
    ones_x, ones_w = np.ones((1, H, W, 1), np.float32), np.ones((k[0], k[1], 1, 1), np.float32)
    # The counts, from nabla: scatter ones with a filter of ones.  Uncropped first...
    full = nb.conv2d_transpose(ones_x, ones_w, stride=s, dilation=d).numpy()[0, :, :, 0]
    # ... then the op itself, whose output must be the kept part of that canvas.
    out = nb.conv2d_transpose(ones_x, ones_w, stride=s, dilation=d, **kw).numpy()[0, :, :, 0]
    ho, wo = out.shape
    rows, cols = max(full.shape[0], pt + ho), max(full.shape[1], pl + wo)
    canvas = np.zeros((rows, cols))
    canvas[:full.shape[0], :full.shape[1]] = full
    if not np.array_equal(canvas[pt:pt + ho, pl:pl + wo], out):
        raise AssertionError("conv2d_transpose_scatter: the picture disagrees with nabla")
    cells = [(0, 0), (0, 1), (1, 1)] if cells is None else [tuple(c) for c in cells]
    cells = [c for c in cells if 0 <= c[0] < H and 0 <= c[1] < W]
    ax = _new_axes(W + GAP + cols + 1.5, max(rows, H) + 1.5, ax, extra_h=2.3)

    # the input, its chosen cells coloured
    faces = [[INPUT_FACE] * W for _ in range(H)]
    for idx, (i, j) in enumerate(cells):
        faces[i][j] = COLORS[idx % len(COLORS)] + "66"
    _grid(ax, 0, 0, faces, [[f"x{i}{j}" if H < 10 and W < 10 else "" for j in range(W)] for i in range(H)],
          fontsize=7)
    _index_labels(ax, 0, 0, H, W, 0, 0, H, W)

    # the output canvas, shaded by count; cropped cells hatched
    ox = W + GAP
    import matplotlib as mpl
    cmap, top = mpl.colormaps["Blues"], max(canvas.max(), 1)
    kept = [[pt <= r < pt + ho and pl <= c < pl + wo for c in range(cols)] for r in range(rows)]
    c_faces = [[cmap(0.1 + 0.5 * canvas[r, c] / top) if canvas[r, c] else "white" for c in range(cols)]
               for r in range(rows)]
    c_texts = [[_fmt(canvas[r, c]) for c in range(cols)] for r in range(rows)]
    c_colors = [["black" if kept[r][c] else "#737373" for c in range(cols)] for r in range(rows)]
    _grid(ax, ox, 0, c_faces, c_texts, text_colors=c_colors)
    for r in range(rows):
        for c in range(cols):
            if not kept[r][c]:
                _rect(ax, ox + c, 0 + r, 1, 1, facecolor=CROP_FACE + "90", edgecolor=GRID_EDGE, hatch="//",
                      lw=0.8, zorder=2)
    _rect(ax, ox + pl, pt, wo, ho, fill=False, edgecolor="black", lw=2.6, zorder=7)
    _index_labels(ax, ox, 0, rows, cols, pt, pl, ho, wo)
    for idx, (i, j) in enumerate(cells):
        _window(ax, ox, 0, i * s[0], j * s[1], k, d, idx, COLORS[idx % len(COLORS)])
    mid = min(H, rows) / 2
    ax.annotate("", xy=(ox - 0.75, mid), xytext=(W + 0.3, mid),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="#555555"))
    ax.text(W + GAP / 2 - 0.2, mid - 0.25, "scatter", ha="center", va="bottom", fontsize=8)

    def formula(n, k_, s_, d_, p0, p1, o, res):
        return f"({n} - 1)·{s_} - ({p0} + {p1}) + {d_}·({k_} - 1) + {o} + 1 = {res}"
    title = _size_title(
        "conv2d_transpose",
        _describe("conv2d_transpose", H, W, kernel=k, stride=s, padding=padding, dilation=d,
                  output_padding=(oph, opw))
        + (f"\n{padding!r}: cropped (top, bottom, left, right) = ({pt}, {pb}, {pl}, {pr})"
           if isinstance(padding, str) else "")
        + "\nH_out = (H - 1)·s - (pt + pb) + d·(k - 1) + output_padding + 1",
        formula(H, k[0], s[0], d[0], pt, pb, oph, ho), formula(W, k[1], s[1], d[1], pl, pr, opw, wo))
    handles = [Patch(facecolor=cmap(0.4), edgecolor=GRID_EDGE, label="contributions (count)"),
               Patch(facecolor=CROP_FACE, edgecolor=GRID_EDGE, hatch="//", label="cropped by padding"),
               Patch(facecolor="white", edgecolor="black", lw=2.2, label=f"output {ho}x{wo}")]
    for idx, (i, j) in enumerate(cells):
        handles.append(Line2D([], [], color=COLORS[idx % len(COLORS)], marker="o", lw=2,
                              label=f"x[{i}, {j}]·w lands here"))
    _finish(ax, ox + cols, max(rows, H), title, handles, ncol=3)
    return ax


# ----------------------------------------------------------------- pools
def pool_windows(H, W, kernel_size, stride=None, padding=0, dilation=1, ax=None, *, ceil_mode=False,
                 mode="max", count_include_pad=True, positions=None, x=None):
    """Pooling windows over the padded input: padding (-inf for max, zeros for avg)
    shaded, the cells ``ceil_mode`` adds past the bottom/right padding marked apart,
    the output grid beside.  For ``mode="avg"`` every output cell shows its divisor
    (which varies with ``count_include_pad=False`` or ``ceil_mode``).  Returns the Axes.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"pool_windows: mode must be 'max' or 'avg', got {mode!r}")
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    d = _pair(dilation)
    op = "max_pool2d" if mode == "max" else "avg_pool2d"
    pt, pb, pl, pr = _args.window_padding(op, padding, (H, W), k, s, d)
    ones = np.ones((1, H, W, 1), np.float32)
    extra_kw = {} if mode == "max" else dict(count_include_pad=count_include_pad)
    pooled = getattr(nb, op)(ones, kernel_size=k, stride=s, padding=padding, dilation=d, ceil_mode=ceil_mode,
                             **extra_kw).numpy()[0, :, :, 0]
    ho, wo = pooled.shape
    # ceil_mode's extra cells: whatever the last window reaches past the padded input.
    eh = max((ho - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (H + pt + pb), 0)
    ew = max((wo - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (W + pl + pr), 0)
    rows, cols = H + pt + pb + eh, W + pl + pr + ew
    positions = _default_positions(ho, wo) if positions is None else [tuple(p) for p in positions]
    ax = _new_axes(cols + GAP + wo + 1.5, max(rows, ho) + 1.5, ax)

    def kind(r, c):
        if r >= H + pt + pb or c >= W + pl + pr:
            return "ceil"
        return "in" if (pt <= r < pt + H and pl <= c < pl + W) else "pad"
    kinds = [[kind(r, c) for c in range(cols)] for r in range(rows)]
    face = {"in": INPUT_FACE, "pad": PAD_FACE, "ceil": CEIL_FACE}
    pad_text = "-inf" if mode == "max" else "0"
    if x is not None:
        x = np.asarray(x)
    texts = [[(_fmt(x[r - pt, c - pl]) if x is not None else "") if kinds[r][c] == "in"
              else pad_text if kinds[r][c] == "pad" else "" for c in range(cols)] for r in range(rows)]
    colors = [["black" if kinds[r][c] == "in" else "#737373" for c in range(cols)] for r in range(rows)]
    _grid(ax, 0, 0, [[face[t] for t in row] for row in kinds], texts,
          hatches=[["xx" if t == "ceil" else None for t in row] for row in kinds], fontsize=7,
          text_colors=colors)
    _index_labels(ax, 0, 0, rows, cols, pt, pl, H, W)

    # divisors (avg): the window's taps inside the input, or inside the input and the
    # user's padding; never the ceil_mode cells.  Checked against nabla: pooling ones
    # gives (taps inside the input) / divisor.
    divisor = np.zeros((ho, wo))
    in_count = np.zeros((ho, wo))
    for i in range(ho):
        for j in range(wo):
            taps = [kinds[i * s[0] + a * d[0]][j * s[1] + b * d[1]] for a in range(k[0]) for b in range(k[1])]
            in_count[i, j] = taps.count("in")
            divisor[i, j] = taps.count("in") + (taps.count("pad") if count_include_pad else 0)
    if mode == "avg":
        expect = np.where(divisor > 0, in_count / np.maximum(divisor, 1), 0.0)
        if not np.allclose(pooled, expect, rtol=1e-6):
            raise AssertionError("pool_windows: the divisors drawn disagree with nabla's avg_pool2d")

    ox = cols + GAP
    out_faces = [["white"] * wo for _ in range(ho)]
    for idx, (i, j) in enumerate(positions):
        out_faces[i][j] = COLORS[idx % len(COLORS)] + "66"
    out_texts = [[f"÷{divisor[i, j]:.0f}" for j in range(wo)] for i in range(ho)] if mode == "avg" else None
    _grid(ax, ox, 0, out_faces, out_texts, fontsize=8)
    _index_labels(ax, ox, 0, ho, wo, 0, 0, ho, wo)
    for idx, (i, j) in enumerate(positions):
        _window(ax, 0, 0, i * s[0], j * s[1], k, d, idx, COLORS[idx % len(COLORS)])
    mid = min(ho, rows) / 2
    ax.annotate("", xy=(ox - 0.75, mid), xytext=(cols + 0.3, mid),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="#555555"))
    ax.text(cols + GAP / 2 - 0.2, mid - 0.25, mode, ha="center", va="bottom", fontsize=8)

    kw = dict(kernel_size=k, stride=s, padding=padding, dilation=d, ceil_mode=bool(ceil_mode))
    if mode == "avg":
        kw["count_include_pad"] = bool(count_include_pad)
    symbolic = _describe(op, H, W, **kw)
    if isinstance(padding, str):
        symbolic += f"\n{padding!r}: padding (top, bottom, left, right) = ({pt}, {pb}, {pl}, {pr})"
    symbolic += f"\nH_out = {'ceil' if ceil_mode else 'floor'}((H + pt + pb - d·(k - 1) - 1) / s) + 1"
    title = _size_title(op, symbolic, _window_formula(H, k[0], s[0], d[0], pt, pb, ho, ceil_mode),
                        _window_formula(W, k[1], s[1], d[1], pl, pr, wo, ceil_mode))
    handles = [Patch(facecolor=INPUT_FACE, edgecolor=GRID_EDGE, label="input cell")]
    if any((pt, pb, pl, pr)):
        handles.append(Patch(facecolor=PAD_FACE, edgecolor=GRID_EDGE,
                             label="padding (-inf)" if mode == "max" else
                             ("padding (0, counted)" if count_include_pad else "padding (0, not counted)")))
    if eh or ew:
        handles.append(Patch(facecolor=CEIL_FACE, edgecolor=GRID_EDGE, hatch="xx",
                             label="ceil_mode cell (-inf)" if mode == "max"
                             else "ceil_mode cell (never counted)"))
    for idx, (i, j) in enumerate(positions):
        handles.append(Line2D([], [], color=COLORS[idx % len(COLORS)], marker="o", lw=2,
                              label=f"window of y[{i}, {j}]"))
    if mode == "avg":
        handles.append(Patch(facecolor="white", edgecolor=GRID_EDGE, label="÷n: the divisor of y[i, j]"))
    _finish(ax, ox + wo, max(rows, ho), title, handles, ncol=3)
    return ax


# ----------------------------------------------------------------- groups
def groups_diagram(c_in, c_out, groups, ax=None):
    """Which input channels each output channel reads: ``groups`` independent
    blocks of ``c_in / groups`` inputs to ``c_out / groups`` outputs."""
    if c_in % groups or c_out % groups:
        raise ValueError("groups_diagram: groups must divide c_in and c_out")
    cg, og = c_in // groups, c_out // groups
    if ax is None:
        ax = _new_axes(6, max(c_in, c_out) + 1, None, extra_h=1.0)
    ys_in = np.linspace(0, max(c_in, c_out) - 1, c_in) if c_in > 1 else [0.5 * (max(c_in, c_out) - 1)]
    ys_out = np.linspace(0, max(c_in, c_out) - 1, c_out) if c_out > 1 else [0.5 * (max(c_in, c_out) - 1)]
    for o in range(c_out):
        g = o // og
        for c in range(g * cg, (g + 1) * cg):
            ax.plot([0, 3], [ys_in[c], ys_out[o]], color=COLORS[g % len(COLORS)], lw=1.8, zorder=1)
    for c in range(c_in):
        ax.scatter([0], [ys_in[c]], s=220, color="white", edgecolors=COLORS[(c // cg) % len(COLORS)],
                   linewidths=2, zorder=2)
        ax.text(-0.45, ys_in[c], f"x[..., {c}]", ha="right", va="center", fontsize=8)
    for o in range(c_out):
        ax.scatter([3], [ys_out[o]], s=220, color="white", edgecolors=COLORS[(o // og) % len(COLORS)],
                   linewidths=2, zorder=2)
        ax.text(3.45, ys_out[o], f"y[..., {o}]", ha="left", va="center", fontsize=8)
    ax.set_xlim(-2.6, 5.6)
    ax.set_ylim(max(c_in, c_out) - 0.4, -0.6)
    ax.axis("off")
    ax.set_title(f"groups={groups}: filter (K_h, K_w, {cg}, {c_out})\n"
                 f"each line is one K_h x K_w filter slice", fontsize=9)
    if ax.figure is not None:
        ax.figure.tight_layout()
    return ax


# ----------------------------------------------------------------- the API pages
def save_all(outdir):
    """Write conv2d.png, conv2d_transpose.png, max_pool2d.png and avg_pool2d.png
    into ``outdir`` (created if needed); returns their paths.  Uses matplotlib's
    object API only (no pyplot state is touched)."""
    os.makedirs(outdir, exist_ok=True)
    x5 = np.arange(25).reshape(5, 5)
    jobs = {
        # stride 2 and padding 1, then dilation 2: the two ways a window skips cells
        "conv2d.png": [lambda ax: conv2d_windows(5, 5, 3, stride=2, padding=1, dilation=1, ax=ax, x=x5),
                       lambda ax: conv2d_windows(5, 5, 3, stride=1, padding=1, dilation=2, ax=ax, x=x5,
                                                 positions=[(0, 0), (2, 2)])],
        "conv2d_transpose.png": [lambda ax: conv2d_transpose_scatter(3, 3, 3, stride=2, padding=1, ax=ax)],
        "max_pool2d.png": [lambda ax: pool_windows(6, 6, 3, stride=2, padding=1, ceil_mode=True, mode="max",
                                                   ax=ax)],
        "avg_pool2d.png": [lambda ax: pool_windows(6, 6, 3, stride=2, padding=1, ceil_mode=True, mode="avg",
                                                   count_include_pad=False, ax=ax)],
    }
    heights = {"conv2d.png": 10.4, "conv2d_transpose.png": 6.2, "max_pool2d.png": 6.0, "avg_pool2d.png": 6.0}
    paths = []
    for name, draws in jobs.items():
        fig = Figure(figsize=(8.0, heights[name]), dpi=110)
        axes = fig.subplots(len(draws), 1, squeeze=False)[:, 0]
        for draw, ax in zip(draws, axes):
            draw(ax)
        fig.tight_layout()
        path = os.path.join(outdir, name)
        fig.savefig(path, dpi=110, facecolor="white")
        paths.append(path)
    return paths
