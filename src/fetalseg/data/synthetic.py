"""Synthetic ultrasound-like head frames with exact ground truth.

For tests and for a demo without HC18 data. Each frame imitates a 2D transthalamic plane: a dark
frame around a fan-shaped scan sector, smoothed tissue echogenicity with multiplicative Rayleigh
speckle, depth attenuation, dark amniotic fluid, bright tissue blobs, and the fetal head: a bright
elliptical skull ring whose brightness follows the beam incidence (strong where the beam hits the
skull head-on, weak on the lateral walls) with random dropout gaps, a darker brain with a broken
midline echo, hypoechoic thalami, a cavum septi pellucidi and a few faint internal echoes.

The truth is the ellipse on the *outer edge* of the skull ring (HC18 annotations trace the skull's
outer boundary): the ring lies inside it, from the edge inwards by its local thickness. The mask is
that ellipse filled by :func:`cv2.ellipse` with sub-pixel centre and axes.

Most of the geometry is rendered at half resolution and upsampled once, which keeps a 800x540
frame at a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fetalseg.biometry.ellipse import ramanujan_perimeter
from fetalseg.data.io import write_image
from fetalseg.data.preprocess import resize_image, resize_mask_and_coverage

if TYPE_CHECKING:
    from fetalseg.data.dataset import CachedSet

__all__ = [
    "SyntheticHead",
    "random_head",
    "synthetic_frame",
    "synthetic_heads",
    "synthetic_set",
]

F32 = np.float32


@dataclass(frozen=True)
class SyntheticHead:
    """The true head ellipse of a synthetic frame, in pixels of that frame.

    ``angle_deg`` follows :func:`cv2.ellipse`: the rotation of the ``semi_major`` axis from the
    image x axis, clockwise on screen (y points down). The ellipse is the outer edge of the skull.
    """

    center_x: float
    center_y: float
    semi_major: float
    semi_minor: float
    angle_deg: float
    width: int
    height: int

    def box(self) -> tuple[tuple[float, float], tuple[float, float], float]:
        """The ``cv2.RotatedRect`` ``((cx, cy), (2a, 2b), angle)`` of the ellipse."""
        return (
            (self.center_x, self.center_y),
            (2.0 * self.semi_major, 2.0 * self.semi_minor),
            self.angle_deg,
        )

    def half_extent(self) -> tuple[float, float]:
        """Half width and half height of the ellipse's axis-aligned bounding box."""
        t = math.radians(self.angle_deg)
        a, b = self.semi_major, self.semi_minor
        hx = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
        hy = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
        return hx, hy

    def mask(self) -> np.ndarray:
        """``(height, width) uint8 {0, 1}``: the filled ellipse."""
        m = np.zeros((self.height, self.width), np.uint8)
        cv2.ellipse(m, self.box(), 1, thickness=-1, lineType=cv2.LINE_8)
        return m


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def random_head(
    width: int, height: int, rng: np.random.Generator, margin: float = 8.0
) -> SyntheticHead:
    """A random head ellipse lying fully inside a ``width x height`` frame (``margin`` px)."""
    for _ in range(50):
        a = rng.uniform(0.15, 0.35) * width
        b = a * rng.uniform(0.7, 0.95)
        angle = rng.uniform(0.0, 180.0)
        head = SyntheticHead(0.0, 0.0, a, b, angle, width, height)
        hx, hy = head.half_extent()
        if 2 * (hx + margin) < width and 2 * (hy + margin) < height:
            break
    else:  # shrink the last draw until it fits
        hx, hy = head.half_extent()
        s = 0.98 * min((width / 2 - margin) / hx, (height / 2 - margin) / hy)
        a, b = a * s, b * s
        head = SyntheticHead(0.0, 0.0, a, b, angle, width, height)
        hx, hy = head.half_extent()
    cx = rng.uniform(hx + margin, width - hx - margin)
    cy = rng.uniform(hy + margin, height - hy - margin)
    return SyntheticHead(float(cx), float(cy), float(a), float(b), float(angle), width, height)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]):
    """Zero-mean, unit-ish smooth noise: a coarse ``cells = (rows, cols)`` grid upsampled."""
    coarse = rng.standard_normal(cells).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _harmonics(rng: np.random.Generator, phi: np.ndarray, n: int, amp: float) -> np.ndarray:
    """A smooth random periodic function of the angle ``phi``."""
    out = np.zeros_like(phi)
    for k in range(1, n + 1):
        c = rng.standard_normal() * amp / k
        p = rng.uniform(0, 2 * math.pi)
        out += np.float32(c) * np.cos(k * phi + np.float32(p))
    return out


@dataclass(frozen=True)
class _Grid:
    """The half-resolution render grid, in full-resolution pixel coordinates of pixel centres.

    ``x`` is ``(1, w)``, ``y`` is ``(h, 1)`` (float32, px); ``sx``/``sy`` full px per grid cell.
    """

    width: int
    height: int
    xs: np.ndarray
    ys: np.ndarray
    sx: float
    sy: float

    @classmethod
    def for_frame(cls, width: int, height: int) -> _Grid:
        hw, hh = (width + 1) // 2, (height + 1) // 2
        sx, sy = width / hw, height / hh
        xs = (np.arange(hw, dtype=F32) + F32(0.5)) * F32(sx) - F32(0.5)
        ys = (np.arange(hh, dtype=F32) + F32(0.5)) * F32(sy) - F32(0.5)
        return cls(width, height, xs, ys, sx, sy)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.ys), len(self.xs))

    def box(self, cx: float, cy: float, ax_major: float, ax_minor: float, angle: float):
        """A full-resolution ellipse (centre, semi-axes in px, degrees) as a grid RotatedRect."""
        return (
            ((cx + 0.5) / self.sx - 0.5, (cy + 0.5) / self.sy - 0.5),
            (2 * ax_major / self.sx, 2 * ax_minor / self.sy),
            angle,
        )


@dataclass(frozen=True)
class _Beam:
    """Polar coordinates of the grid around the probe's apex: ``dx``/``dy`` offsets, ``r``
    range (px), ``r_far`` the farthest range in the frame, ``sector`` the soft scan mask."""

    dx: np.ndarray
    dy: np.ndarray
    r: np.ndarray
    r_far: float
    sector: np.ndarray


def _beam(rng: np.random.Generator, head: SyntheticHead, g: _Grid) -> _Beam:
    """Scan sector: apex above the frame, wide enough to hold the head."""
    apex_x = g.width * (0.5 + rng.uniform(-0.08, 0.08))
    apex_y = -g.height * rng.uniform(0.1, 0.5)
    ehx, ehy = head.half_extent()
    corners = [
        (head.center_x + sgn * ehx, head.center_y + k * ehy) for sgn in (-1, 1) for k in (-1, 0)
    ]
    need = max(abs(math.atan2(px - apex_x, py - apex_y)) for px, py in corners)
    half_angle = min(max(need + 0.05, math.radians(rng.uniform(35, 55))), math.radians(85))
    dx, dy = g.xs[None, :] - F32(apex_x), g.ys[:, None] - F32(apex_y)
    r = np.sqrt(dx * dx + dy * dy)
    theta = np.arctan2(dx, dy)
    r_far = float(np.hypot(max(apex_x, g.width - apex_x), g.height - apex_y))
    sector = np.clip((F32(half_angle) - np.abs(theta)) * r * F32(0.7), 0, 1)
    return _Beam(dx, dy, r, r_far, sector)


def _background(
    rng: np.random.Generator, head: SyntheticHead, g: _Grid, r: np.ndarray
) -> np.ndarray:
    """Echo level around the head: smoothed tissue echogenicity with range banding, bright blobs
    and curved interfaces, dark amniotic fluid near the head. ``(h, w)`` float32."""
    shape = g.shape
    tissue = F32(rng.uniform(0.18, 0.35)) * np.clip(
        1
        + F32(0.4) * _smooth_noise(rng, shape, (5, 7))
        + F32(0.2) * _smooth_noise(rng, shape, (12, 18)),
        0.2,
        None,
    )
    period = rng.uniform(25, 70)
    tissue *= 1 + F32(0.15) * np.sin(r * F32(2 * math.pi / period) + F32(rng.uniform(0, 6.3)))

    blobs = np.zeros(shape, F32)
    for _ in range(rng.integers(2, 7)):
        c = (rng.uniform(0, g.width), rng.uniform(0, g.height))
        box = g.box(*c, rng.uniform(6, 45), rng.uniform(3, 14), rng.uniform(0, 180))
        cv2.ellipse(blobs, box, rng.uniform(0.2, 0.6), -1)
    hh, hw = shape
    for _ in range(rng.integers(0, 3)):  # a curved bright interface (uterine wall, limb)
        cx_, cy_ = rng.uniform(0, hw), rng.uniform(-0.2, 1.2) * hh
        a0 = rng.uniform(0, 360)
        axes = (int(rng.uniform(60, 250)), int(rng.uniform(25, 120)))
        ang = rng.uniform(0, 180)
        cv2.ellipse(blobs, (int(cx_), int(cy_)), axes, ang, a0, a0 + rng.uniform(30, 120), 0.6, 2)
    blobs = cv2.GaussianBlur(blobs, (0, 0), 1.5)

    fluid = np.zeros(shape, F32)
    if rng.random() < 0.8:
        scale = rng.uniform(1.3, 2.2)
        off = rng.uniform(-0.6, 0.6, 2) * head.semi_major
        box = g.box(
            head.center_x + off[0],
            head.center_y + off[1],
            head.semi_major * scale,
            head.semi_minor * scale * rng.uniform(0.7, 1.3),
            rng.uniform(0, 180),
        )
        cv2.ellipse(fluid, box, 1.0, -1)
        fluid = cv2.GaussianBlur(fluid, (0, 0), 6.0) + F32(0.3) * _smooth_noise(rng, shape, (6, 9))
        fluid = np.clip((fluid - F32(0.5)) * F32(3), 0, 1) * F32(rng.uniform(0.7, 0.97))
    return tissue * (1 - fluid) + F32(0.01) * fluid + blobs


@dataclass(frozen=True)
class _HeadFrame:
    """The grid crop around the head in the head's own frame: ``u`` along the major axis, ``v``
    along the minor (px); ``depth`` ≈ px inside the outer edge (> 0 inside); ``phi`` the
    elliptic angle; ``crop`` the (rows, cols) slices of the grid; ``cos_t``/``sin_t`` of the
    head's angle (float32)."""

    crop: tuple[slice, slice]
    cos_t: np.float32
    sin_t: np.float32
    u: np.ndarray
    v: np.ndarray
    depth: np.ndarray
    phi: np.ndarray


def _head_frame(head: SyntheticHead, g: _Grid) -> _HeadFrame:
    ehx, ehy = head.half_extent()
    hh, hw = g.shape
    pad = 0.25 * head.semi_major + 10
    c0 = max(int((head.center_x - ehx - pad) / g.sx), 0)
    c1 = min(int((head.center_x + ehx + pad) / g.sx) + 2, hw)
    r0 = max(int((head.center_y - ehy - pad) / g.sy), 0)
    r1 = min(int((head.center_y + ehy + pad) / g.sy) + 2, hh)
    t = math.radians(head.angle_deg)
    ct, st = F32(math.cos(t)), F32(math.sin(t))
    a, b = F32(head.semi_major), F32(head.semi_minor)
    ex, ey = g.xs[None, c0:c1] - F32(head.center_x), g.ys[r0:r1, None] - F32(head.center_y)
    u = ex * ct + ey * st
    v = ey * ct - ex * st
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) + F32(1e-6)
    depth = np.sqrt(u * u + v * v) * (1 - rho) / rho
    phi = np.arctan2(v / b, u / a)
    return _HeadFrame((slice(r0, r1), slice(c0, c1)), ct, st, u, v, depth, phi)


def _brain(rng: np.random.Generator, head: SyntheticHead, hf: _HeadFrame) -> np.ndarray:
    """Echo inside the skull: parenchyma, a broken midline, thalami, the cavum septi pellucidi
    and a few faint echoes parallel to the midline. Shape of the head crop, float32."""
    u, v = hf.u, hf.v
    a, b = F32(head.semi_major), F32(head.semi_minor)
    cshape = u.shape
    brain = F32(rng.uniform(0.06, 0.14)) * np.clip(
        1 + F32(0.5) * _smooth_noise(rng, cshape, (5, 5)), 0.2, None
    )
    # Midline echo along the major axis, broken into pieces.
    mid_w = F32(rng.uniform(1.5, 3.0))
    mid_gate = np.clip(_smooth_noise(rng, cshape, (4, 10)) * 2 + F32(0.5), 0, 1)
    mid = np.exp(-((v / mid_w) ** 2)) * np.clip((F32(0.85) - np.abs(u / a)) * 6, 0, 1) * mid_gate
    brain += F32(rng.uniform(0.1, 0.3)) * mid
    # Thalami (two hypoechoic ovals) and the cavum septi pellucidi (dark box, bright rim).
    side = float(rng.choice([-1.0, 1.0]))
    thal_u = side * rng.uniform(0.0, 0.15) * head.semi_major
    for sgn in (-1.0, 1.0):
        tv = sgn * rng.uniform(0.12, 0.2) * head.semi_minor
        q = ((u - F32(thal_u)) / (0.17 * a)) ** 2 + ((v - F32(tv)) / (0.11 * b)) ** 2
        brain *= 1 - F32(0.6) * np.exp(-q * q)
    csp_u = -side * rng.uniform(0.3, 0.45) * head.semi_major
    q = np.maximum(np.abs(u - F32(csp_u)) / (0.08 * a), np.abs(v) / (0.05 * b))
    brain *= 1 - F32(0.8) * np.clip(1.3 - q, 0, 1)
    brain += F32(rng.uniform(0.08, 0.2)) * np.exp(-(((q - 1.15) / 0.2) ** 2))
    # A few faint short echoes roughly parallel to the midline (choroid plexus, fissures).
    for _ in range(rng.integers(2, 6)):
        lu = rng.uniform(-0.6, 0.6) * head.semi_major
        lv = rng.uniform(-0.6, 0.6) * head.semi_minor
        ln, lw = rng.uniform(0.05, 0.15) * head.semi_major, rng.uniform(2.0, 4.0)
        tilt = F32(rng.uniform(-0.3, 0.3))
        vv = (v - F32(lv) - tilt * (u - F32(lu))) / F32(lw)
        uu = (u - F32(lu)) / F32(ln)
        brain += F32(rng.uniform(0.08, 0.25)) * np.exp(-vv * vv - (uu * uu) ** 2)
    return brain


def _skull(
    rng: np.random.Generator, head: SyntheticHead, hf: _HeadFrame, beam: _Beam
) -> np.ndarray:
    """Skull ring inside the outer edge: thickness and brightness vary along ``phi``; strong where
    the beam meets the skull head-on (ring normal along the beam), weak on the lateral walls,
    with random dropout gaps. Shape of the head crop, float32."""
    phi, depth, ct, st = hf.phi, hf.depth, hf.cos_t, hf.sin_t
    a, b = F32(head.semi_major), F32(head.semi_minor)
    thick = F32(rng.uniform(0.035, 0.065) * head.semi_major + 2) * (
        1 + _harmonics(rng, phi, 4, 0.3)
    )
    thick = np.maximum(thick, F32(2.0))
    nu, nv = np.cos(phi) / a, np.sin(phi) / b
    nx, ny = nu * ct - nv * st, nu * st + nv * ct
    inv_n = 1 / (np.sqrt(nx * nx + ny * ny) + F32(1e-9))
    rows, cols = hf.crop
    rc, dxc, dyc = beam.r[hf.crop], beam.dx[:, cols], beam.dy[rows, :]
    incidence = np.abs(nx * dxc + ny * dyc) * inv_n / (rc + F32(1e-6))
    bright = F32(0.3) + F32(0.7) * incidence**2 + _harmonics(rng, phi, 6, 0.2)
    gaps = np.clip(_harmonics(rng, phi, 8, 1.2) * 2 + F32(rng.uniform(0.4, 2.0)), 0, 1)
    bright = np.clip(bright, 0.05, None) * (F32(0.1) + F32(0.9) * gaps)
    ring = np.exp(-(((depth - thick / 2) / (thick / 2 + F32(0.5))) ** 4))
    return F32(rng.uniform(1.4, 2.2)) * bright * ring


def _place_head(
    rng: np.random.Generator, echo: np.ndarray, head: SyntheticHead, g: _Grid, beam: _Beam
) -> None:
    """Render brain and skull into ``echo`` (in place), with a dark halo (scalp, fluid) just
    outside the skull."""
    hf = _head_frame(head, g)
    inside = np.clip(hf.depth * F32(0.5) + F32(0.5), 0, 1)
    brain = _brain(rng, head, hf)
    skull = _skull(rng, head, hf, beam)
    outside = np.clip(-hf.depth, 0, None) / F32(rng.uniform(4, 14))
    halo = np.exp(-outside * outside) * (1 - inside)
    ec = echo[hf.crop] * (1 - F32(0.7) * halo)
    echo[hf.crop] = ec * (1 - inside) + brain * inside + skull


def _image_formation(rng: np.random.Generator, echo: np.ndarray, g: _Grid, beam: _Beam):
    """Echo level → the scanner's 8-bit image at full size: depth attenuation with a little
    near-field gain, the sector, multiplicative Rayleigh speckle (laterally elongated grains),
    blur and log-like compression. Returns ``(H, W) uint8``."""
    near = beam.r / F32(beam.r_far)
    gain = np.exp(-F32(rng.uniform(0.3, 1.0)) * near) * (
        F32(0.7) + F32(0.3) * np.clip(near * 4, 0, 1)
    )
    echo = np.clip(echo, 0, None) * gain * beam.sector
    hh, hw = g.shape
    coarse = rng.rayleigh(1.0, (hh // 3 + 1, hw // 5 + 1)).astype(np.float32)
    fine = rng.rayleigh(1.0, g.shape).astype(np.float32)
    speckle = cv2.resize(coarse, (hw, hh), interpolation=cv2.INTER_CUBIC) * F32(0.75) + fine * F32(
        0.25
    )
    img = echo * speckle * F32(1 / math.sqrt(math.pi / 2))  # speckle mean 1
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.9, 1.4))
    img = np.power(np.clip(img, 0, None), F32(rng.uniform(0.8, 1.0))) * F32(
        255 * rng.uniform(0.85, 1.1)
    )
    small = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.resize(small, (g.width, g.height), interpolation=cv2.INTER_LINEAR)


def _corner_patch(rng: np.random.Generator, img: np.ndarray, head: SyntheticHead) -> None:
    """HC18-like black patch in a bottom corner, sometimes (never over the head); in place."""
    if rng.random() >= 0.3:
        return
    height, width = img.shape
    ehx, ehy = head.half_extent()
    pw, ph = int(rng.uniform(0.1, 0.25) * width), int(rng.uniform(0.1, 0.3) * height)
    x0 = width - pw if rng.random() < 0.7 else 0
    y0 = height - ph - int(rng.uniform(0, 0.05) * height)
    clear_x = head.center_x + ehx < x0 or head.center_x - ehx > x0 + pw
    if clear_x or head.center_y + ehy < y0:
        img[y0 : y0 + ph, x0 : x0 + pw] = 0


def synthetic_frame(
    width: int = 800,
    height: int = 540,
    rng: np.random.Generator | int | None = None,
    head: SyntheticHead | None = None,
) -> tuple[np.ndarray, np.ndarray, SyntheticHead]:
    """One ultrasound-like frame: ``(image (H, W) uint8, mask (H, W) uint8 {0, 1}, truth)``.

    ``rng`` is a generator or a seed (same seed, same frame). ``head`` fixes the ellipse (its
    ``width``/``height`` then set the frame size); otherwise a random head is drawn with semi-major
    15-35 % of the width, axis ratio 0.7-0.95, any angle, fully inside the frame. The mask is the
    filled ellipse on the skull's *outer* edge (as HC18's annotations): the bright ring lies just
    inside it. Rendered on a half-resolution grid and upsampled once at the end, in the stages
    below (each draws from ``rng`` in turn, so the order is part of the frame's identity).
    """
    rng = _as_rng(rng)
    if head is None:
        head = random_head(width, height, rng)
    grid = _Grid.for_frame(head.width, head.height)
    beam = _beam(rng, head, grid)
    echo = _background(rng, head, grid, beam.r)
    _place_head(rng, echo, head, grid, beam)
    img = _image_formation(rng, echo, grid, beam)
    _corner_patch(rng, img, head)
    return img, head.mask(), head


def synthetic_heads(
    n: int, seed: int = 0, width: int = 800, height: int = 540
) -> list[SyntheticHead]:
    """The truths of ``synthetic_set(n, seed=seed)`` frames, without rendering them."""
    return [random_head(width, height, _frame_rng(seed, i)) for i in range(n)]


def _frame_rng(seed: int, i: int) -> np.random.Generator:
    # Frame i depends on (seed, i) only, not on n.
    return np.random.default_rng(np.random.SeedSequence([seed, i]))


def synthetic_set(
    n: int,
    size: tuple[int, int] = (384, 256),
    seed: int = 0,
    frame_size: tuple[int, int] = (800, 540),
    pixel_size_mm: float = 0.15,
) -> CachedSet:
    """``n`` synthetic frames made at ``frame_size = (W, H)``, resized to ``size = (W, H)``.

    Names are ``synthetic_000.png``...; ``hc_mm`` is the true head circumference: Ramanujan's
    perimeter of the outer-edge ellipse with semi-axes in mm (semi-axes x ``pixel_size_mm``).
    A training data set: needs the ``train`` extra (torch).
    """
    from fetalseg.data.dataset import CachedSet

    w, h = size
    fw, fh = frame_size
    images = np.empty((n, h, w), np.uint8)
    masks = np.empty((n, h, w), np.uint8)
    coverage = np.empty((n, h, w), np.uint8)
    geoms, hcs = [], []
    for i in range(n):
        img, mask, head = synthetic_frame(fw, fh, rng=_frame_rng(seed, i))
        images[i], geom = resize_image(img, size)
        masks[i], coverage[i] = resize_mask_and_coverage(mask, size)
        geoms.append(geom)
        hcs.append(
            ramanujan_perimeter(head.semi_major * pixel_size_mm, head.semi_minor * pixel_size_mm)
        )
    return CachedSet(
        images,
        masks,
        [f"synthetic_{i:03d}.png" for i in range(n)],
        np.full(n, pixel_size_mm, np.float64),
        geoms,
        np.array(hcs, np.float64),
        coverage,
    )


def write_hc18_layout(
    root: str | Path,
    n_subjects: int,
    seed: int = 0,
    frame_size: tuple[int, int] = (400, 270),
    pixel_size_mm: float = 0.3,
) -> Path:
    """Write synthetic frames as an HC18-layout folder (``training_set/``, outlines, CSV).

    Every third subject gets a second image (``NNN_2HC.png``), as in HC18. The outline is the
    1-px contour of the true ellipse and the CSV holds its true HC, so every tool that reads
    HC18 can be exercised end to end without the real data.
    """
    folder = Path(root) / "training_set"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["filename,pixel size(mm),head circumference (mm)"]
    k = 0
    for s in range(n_subjects):
        for rep in range(2 if s % 3 == 2 else 1):
            img, _, head = synthetic_frame(*frame_size, rng=_frame_rng(seed, k))
            k += 1
            name = f"{s:03d}_HC.png" if rep == 0 else f"{s:03d}_{rep + 1}HC.png"
            outline = np.zeros_like(img)
            cv2.ellipse(outline, head.box(), 255, 1)
            write_image(folder / name, img)
            write_image(folder / name.replace("HC.png", "HC_Annotation.png"), outline)
            hc = ramanujan_perimeter(
                head.semi_major * pixel_size_mm, head.semi_minor * pixel_size_mm
            )
            rows.append(f"{name},{pixel_size_mm},{hc:.2f}")
    (Path(root) / "training_set_pixel_size_and_HC.csv").write_text("\r\n".join(rows) + "\r\n")
    return Path(root)
