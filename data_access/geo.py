"""Geometry for the management analytics: great-circle distances and hexagonal binning."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# Latitude of the local plane the hexagons are laid on: fixed, so that cells are the same in every request.
REFERENCE_LAT = 42.36
_M_PER_DEG_LAT = 111_320.0


def _m_per_deg_lon() -> float:
    return _M_PER_DEG_LAT * math.cos(math.radians(REFERENCE_LAT))


def hex_cells(lat, lon, size_m: float) -> pd.DataFrame:
    """The flat-top hexagon (axial q, r; `size_m` centre to corner) holding each point."""
    x = np.asarray(lon, dtype=float) * _m_per_deg_lon() / size_m
    y = np.asarray(lat, dtype=float) * _M_PER_DEG_LAT / size_m
    cx = (2 / 3) * x
    cz = (-1 / 3) * x + (math.sqrt(3) / 3) * y
    cy = -cx - cz
    rx, ry, rz = np.round(cx), np.round(cy), np.round(cz)
    dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
    fix_x = (dx > dy) & (dx > dz)
    fix_z = ~fix_x & ~(dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(fix_z, -rx - ry, rz)
    return pd.DataFrame({"q": rx.astype(int), "r": rz.astype(int)})


def hex_centres(cells: pd.DataFrame, size_m: float) -> pd.DataFrame:
    """Latitude and longitude of the centres of `cells` (columns q, r)."""
    x = 1.5 * cells["q"].to_numpy()
    y = math.sqrt(3) * (cells["r"].to_numpy() + cells["q"].to_numpy() / 2)
    return pd.DataFrame({"lat": y * size_m / _M_PER_DEG_LAT, "lon": x * size_m / _m_per_deg_lon()},
                        index=cells.index)
