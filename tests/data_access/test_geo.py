"""data_access.geo and the chi-square of management: the k-d tree on the unit sphere and the DBSCAN written on it give
exactly what scikit-learn's haversine BallTree and DBSCAN give (the implementation they replaced), and the chi-square
test written out with numpy equals scipy.stats.chi2_contingency. scikit-learn is a test dependency only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.cluster import DBSCAN
from sklearn.neighbors import BallTree

from data_access.geo import EARTH_RADIUS_M, SphereIndex, chord_of, dbscan, haversine_m, metres_of
from data_access.management import chi_square


def sklearn_dbscan(lat, lon, radius_m, min_samples):
    model = DBSCAN(eps=radius_m / EARTH_RADIUS_M, min_samples=min_samples, metric="haversine", algorithm="ball_tree")
    return model.fit_predict(np.radians(np.column_stack([lat, lon])))


def town(rng, n, spread_deg=0.01):
    return 42.36 + rng.normal(0, spread_deg, n), -71.06 + rng.normal(0, spread_deg, n)


@pytest.mark.parametrize("seed", range(40))
def test_dbscan_labels_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    lat, lon = town(rng, int(rng.integers(1, 400)), float(rng.choice([0.002, 0.01, 0.05])))
    radius, size = float(rng.choice([100, 300, 500, 1500])), int(rng.integers(1, 9))
    assert np.array_equal(dbscan(lat, lon, radius, size), sklearn_dbscan(lat, lon, radius, size))


def test_dbscan_border_point_joins_the_first_cluster_and_noise_stays_out():
    # on one parallel, metres east of a point: two groups, each with one core point (the one nearest the middle),
    # a point in the middle within reach of both core points but itself not core, and a point far away
    east = [90, 140, 150, -150, -140, -90, 0, 5_000]
    lat, lon = np.full(len(east), 42.0), -71.0 + np.array(east) / 82_727.0
    labels = dbscan(lat, lon, 100, 4)
    assert list(labels) == [0, 0, 0, 1, 1, 1, 0, -1]
    assert np.array_equal(labels, sklearn_dbscan(lat, lon, 100, 4))


def test_dbscan_of_nothing_and_of_isolated_points():
    assert dbscan([], [], 500, 5).size == 0
    assert list(dbscan([42.0, 43.0], [-71.0, -71.0], 500, 2)) == [-1, -1]
    assert list(dbscan([42.0, 43.0], [-71.0, -71.0], 500, 1)) == [0, 1]


def clouds(rng, homes: int, copies: int, jitter_m: float, spread_deg: float):
    """Homes of a town, each repeated `copies` times a few metres apart: the shape of the bench's re-keyed data,
    where a cube of the clustering grid holds hundreds of points."""
    lat, lon = town(rng, homes, spread_deg)
    lat = np.repeat(lat, copies) + rng.uniform(-jitter_m, jitter_m, homes * copies) / 111_320.0
    lon = np.repeat(lon, copies) + rng.uniform(-jitter_m, jitter_m, homes * copies) / 82_000.0
    return lat, lon


@pytest.mark.parametrize("seed", range(12))
def test_dbscan_of_dense_clouds_equals_scikit_learn(seed):
    rng = np.random.default_rng(1000 + seed)
    copies = int(rng.choice([1, 3, 20, 60]))
    lat, lon = clouds(rng, int(rng.integers(5, 1500 // copies + 6)), copies, float(rng.choice([2, 5, 40])),
                      float(rng.choice([0.003, 0.02])))
    radius, size = float(rng.choice([100, 250, 1000, 5000])), int(rng.integers(2, 40))
    assert np.array_equal(dbscan(lat, lon, radius, size), sklearn_dbscan(lat, lon, radius, size))


def test_dbscan_joins_dense_groups_only_within_reach():
    # two groups of 30 points on a parallel, 150 m apart with a 100 m radius: two clusters; 80 m apart: one; and a
    # point between groups 150 m apart, within reach of the edge of each, joins them as a core point
    def labels(east):
        lat, lon = np.full(len(east), 42.0), -71.0 + np.asarray(east) / 82_727.0
        found = dbscan(lat, lon, 100, 4)
        assert np.array_equal(found, sklearn_dbscan(lat, lon, 100, 4))
        return found

    group = np.linspace(0, 20, 30)
    apart = labels(np.concatenate([group, group + 170]))
    assert set(apart[:30]) == {0} and set(apart[30:]) == {1}
    assert set(labels(np.concatenate([group, group + 100]))) == {0}
    assert set(labels(np.concatenate([group, [95], group + 170]))) == {0}


def test_sphere_index_within_of_dense_clouds_and_of_far_points():
    rng = np.random.default_rng(11)
    lat, lon = clouds(rng, 60, 30, 5, 0.02)
    q_lat, q_lon = clouds(rng, 20, 10, 5, 0.02)
    index = SphereIndex(lat, lon)
    tree = BallTree(np.radians(np.column_stack([lat, lon])), metric="haversine")
    for radius in (100, 1000, 5000):
        hits = tree.query_radius(np.radians(np.column_stack([q_lat, q_lon])), r=radius / EARTH_RADIUS_M)
        assert np.array_equal(index.within(q_lat, q_lon, radius), np.unique(np.concatenate(hits)))
    assert index.within([10.0], [10.0], 5000).size == 0
    assert index.within([], [], 5000).size == 0


def test_sphere_index_equals_a_haversine_ball_tree():
    rng = np.random.default_rng(7)
    lat, lon = town(rng, 500, 0.05)
    q_lat, q_lon = town(rng, 300, 0.05)
    index = SphereIndex(lat, lon)
    tree = BallTree(np.radians(np.column_stack([lat, lon])), metric="haversine")
    queries = np.radians(np.column_stack([q_lat, q_lon]))
    expected = tree.query(queries, k=1)[0][:, 0] * EARTH_RADIUS_M
    assert np.allclose(index.nearest_m(q_lat, q_lon), expected, atol=1e-6)
    for radius in (100, 800, 3000):
        hits = tree.query_radius(queries[:40], r=radius / EARTH_RADIUS_M)
        assert np.array_equal(index.within(q_lat[:40], q_lon[:40], radius), np.unique(np.concatenate(hits)))


def test_chords_and_great_circle_distances_agree():
    metres = np.array([0.0, 1.0, 500.0, 25_000.0, 1_000_000.0])
    assert np.allclose(metres_of([chord_of(m) for m in metres]), metres, atol=1e-6)
    # a chord between two real points, against the haversine formula
    from data_access.geo import unit_vectors
    a, b = unit_vectors([42.36], [-71.06])[0], unit_vectors([42.37], [-71.05])[0]
    assert metres_of(np.linalg.norm(a - b)) == pytest.approx(float(haversine_m(42.36, -71.06, 42.37, -71.05)),
                                                             abs=1e-6)


@pytest.mark.parametrize("seed", range(25))
def test_chi_square_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    observed = rng.integers(0, 60, size=(int(rng.integers(2, 9)), int(rng.integers(2, 9))))
    observed[:, 0] += 1  # no empty row
    observed[0, :] += 1  # no empty column
    mine = chi_square(pd.DataFrame(observed))
    statistic, p_value, dof, expected = chi2_contingency(observed, correction=False)
    assert mine["statistic"] == pytest.approx(statistic, rel=1e-12)
    assert mine["p_value"] == pytest.approx(p_value, rel=1e-9, abs=1e-300)
    assert mine["dof"] == dof
    assert np.allclose(mine["expected"], expected)


def test_chi_square_refuses_an_empty_row():
    with pytest.raises(ValueError, match="empty"):
        chi_square(pd.DataFrame([[1, 2], [0, 0]]))
