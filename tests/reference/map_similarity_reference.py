"""Reference values for tests/core/map_checks_test.cpp (Spearman: scipy.stats.spearmanr; SSIM: numpy,
written from Wang et al. 2004 with scikit-image's defaults: 7 x 7 uniform windows over valid positions,
sample covariances, C1 = 0.01^2, C2 = 0.03^2, data range 1 after each map's own min-max scaling).

    /usr/bin/python3 tests/reference/map_similarity_reference.py
The maps are closed-form (the test builds the same ones); values printed to 12 digits."""
import numpy as np
from scipy.stats import spearmanr


def maps(h=12, w=10):
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    a = np.sin(0.7 * i) + np.cos(0.3 * i * j) + 0.05 * j
    b = np.sin(0.7 * i + 0.4) + 0.5 * np.cos(0.2 * j) + np.round(0.1 * i * j) * 0.3  # ties
    return a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)


def ssim(x, y, win=7):
    x = (x - x.min()) / (x.max() - x.min())
    y = (y - y.min()) / (y.max() - y.min())
    n = win * win
    vals = []
    for t in range(x.shape[0] - win + 1):
        for l in range(x.shape[1] - win + 1):
            u, v = x[t:t + win, l:l + win].ravel(), y[t:t + win, l:l + win].ravel()
            mu, mv = u.mean(), v.mean()
            cu, cv = np.var(u, ddof=1), np.var(v, ddof=1)
            cuv = ((u - mu) * (v - mv)).sum() / (n - 1)
            vals.append(((2 * mu * mv + 1e-4) * (2 * cuv + 9e-4)) / ((mu * mu + mv * mv + 1e-4) * (cu + cv + 9e-4)))
    return float(np.mean(vals))


a, b = maps()
print(f"spearman {spearmanr(a.ravel(), b.ravel()).correlation:.12f}")
print(f"ssim {ssim(a, b):.12f}")
