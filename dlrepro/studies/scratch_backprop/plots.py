"""Figures of the scratch_backprop study (house style: ``dlrepro.outputs.plotting.style()``)."""
from __future__ import annotations

import numpy as np

from dlrepro.outputs import plotting
from dlrepro.outputs.plotting import plt
from dlrepro.studies.scratch_backprop.gd import GDResult, contour_grid
from dlrepro.studies.scratch_backprop.nn import relu, relu_grad, sigmoid, sigmoid_grad

__all__ = ["plot_gd_contour", "plot_gd_values", "plot_gd_heatmap", "plot_activations",
           "plot_digits_curves"]


def plot_gd_contour(results: dict[str, GDResult], global_min: dict | None = None, lim: float = 5.0,
                    n: int = 50, levels: int = 50):
    """The write-up's contour plot of f (``contourf`` with 50 levels on a 50x50 grid) with the
    path of every gradient-descent run."""
    import seaborn  # noqa: F401  (registers the "rocket" colormap, seaborn's default)

    plotting.style()
    fig, ax = plt.subplots(figsize=(8, 6))
    xx, yy, zz = contour_grid(lim, n)
    cs = ax.contourf(xx, yy, zz, levels, cmap="rocket")
    ax.contour(xx, yy, zz, levels, alpha=0.2, colors="black", linestyles="solid")
    fig.colorbar(cs, ax=ax, label="f(x, y)")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, r) in enumerate(results.items()):
        ax.plot(r.x_hist, r.y_hist, ".-", color=colors[(i + 1) % len(colors)], lw=1.5,
                label=f"{name}: f={r.value:.4f}")
    ax.plot([results[next(iter(results))].x_hist[0]], [results[next(iter(results))].y_hist[0]], "ko",
            label="start")
    if global_min:
        ax.plot([global_min["x"]], [global_min["y"]], "r*", ms=14,
                label=f"global min f={global_min['value']:.4f}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.grid(False)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("Gradient descent on f(x,y) = x² + y² + x(y+2) + cos(3x)")
    plotting.stamp(fig, False)
    return fig


def plot_gd_values(results: dict[str, GDResult], global_min: dict | None = None):
    """f along each path (the write-up's right-hand "learning curve" panel)."""
    plotting.style()
    fig, ax = plt.subplots()
    for name, r in results.items():
        ax.plot(r.f_hist, ".-", label=f"{name} (final {r.value:.4f})")
    if global_min:
        ax.axhline(global_min["value"], color="k", ls="--", lw=1,
                   label=f"global minimum {global_min['value']:.4f}")
    ax.set_xlabel("step")
    ax.set_ylabel("f(x, y)")
    ax.set_title("f along the gradient-descent path")
    ax.legend()
    plotting.stamp(fig, False)
    return fig


def plot_gd_heatmap(grid: np.ndarray, step_sizes, steps_list, vmax: float | None = None,
                    global_min: dict | None = None):
    """Final f over (step size, number of steps); diverged or off-scale cells are grey."""
    import seaborn as sns

    plotting.style()
    fig, ax = plt.subplots(figsize=(9, 6))
    data = np.array(grid, dtype=float)
    mask = ~np.isfinite(data)
    if vmax is not None:
        mask |= data > vmax
    ax.set_facecolor("0.75")
    ticks_y = [f"{s:.3g}" for s in step_sizes]
    ticks_x = [str(int(s)) for s in steps_list]
    sns.heatmap(np.where(mask, np.nan, data), ax=ax, cmap="viridis_r", mask=mask, vmax=vmax,
                xticklabels=ticks_x, yticklabels=ticks_y, cbar_kws={"label": "final f"})
    ax.invert_yaxis()
    ax.set_xlabel("number of steps")
    ax.set_ylabel("step size")
    ttl = "Final f after gradient descent from (3, 2)"
    if global_min:
        ttl += f" (global min {global_min['value']:.4f})"
    ax.set_title(ttl)
    for label in ax.get_yticklabels()[1::2]:
        label.set_visible(False)
    plotting.stamp(fig, False)
    return fig


def plot_digit_strip(images: np.ndarray, labels: np.ndarray, n: int = 10):
    """The write-up's section 1.6 preview: the first n 8x8 digits side by side
    (``plt.imshow(np.hstack([...]), cmap='gray')``), their digit classes below."""
    plotting.style()
    fig, ax = plt.subplots(figsize=(10, 2.2))
    ax.imshow(np.hstack([images[i].reshape(8, 8) for i in range(n)]), cmap="gray")
    ax.set_xticks([8 * i + 3.5 for i in range(n)], [str(int(v)) for v in labels[:n]])
    ax.set_yticks([])
    ax.tick_params(length=0)
    ax.set_title(f"The first {n} images of scikit-learn's digits (class below each)", fontsize=10)
    return fig


def plot_activations(low: float = -10.0, high: float = 10.0, n: int = 100):
    """The write-up's 2x2 figure: sigmoid, ReLU and their gradients (1.2(g))."""
    plotting.style()
    x = np.linspace(low, high, n)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    for ax, yv, label in [(axes[0, 0], sigmoid(x), "Sigmoid"), (axes[0, 1], relu(x), "ReLU"),
                          (axes[1, 0], sigmoid_grad(x), "Sigmoid gradient"),
                          (axes[1, 1], relu_grad(x), "ReLU gradient")]:
        ax.plot(x, yv, label=label)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
    fig.tight_layout()
    plotting.stamp(fig, False)
    return fig


def plot_digits_curves(history: dict, title: str, reported: dict | None = None):
    """BCE loss and accuracy per epoch, train and test; the write-up's printed values (where
    legible) as markers."""
    plotting.style()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.2))
    for ax, kind, ttl in [(a1, "loss", "BCE loss"), (a2, "acc", "Accuracy")]:
        for phase in ("train", "test"):
            v = history[f"{kind}_{phase}"]
            line, = ax.plot(np.arange(len(v)), v, label=f"{phase} (ours)")
            if reported and reported.get(f"{kind}_{phase}"):
                rv = np.array([np.nan if r is None else r for r in reported[f"{kind}_{phase}"]], float)
                ax.plot(np.arange(len(rv)), rv, "o", ms=3, mfc="none", color=line.get_color(),
                        label=f"{phase} (write-up)")
        ax.set_title(ttl)
        ax.set_xlabel("Epoch")
        ax.legend()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plotting.stamp(fig, False)
    return fig
