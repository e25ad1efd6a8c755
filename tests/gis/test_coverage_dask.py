"""Coverage on dask-geopandas (gis.coverage_dask) equals the single-process engine exactly.

Proves: on four grids and seven devices (walks across grid edges, invalid fixes, a silence, a
lone fix, a device outside every grid), the dask job gives the same covered cells, the same
per-grid figures (buffer and H3 shares, to the last bit), the same visits and device summaries
as :class:`gis.coverage.CoverageAccumulator` fed chunk by chunk -- with the synchronous
scheduler, an in-process cluster and two worker processes, whatever the split of devices into
partitions; Parquet files become one partition each (points or plain lon/lat columns); rows in
any order regrouped by ``shuffle(on="device")`` give the same figures; a device
split over two partitions is refused instead of counted twice; fixes in another CRS are refused
with the fix named.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client, LocalCluster

from gis.coverage import CoverageAccumulator, CoverageParams, CoverageResult, combine_states
from gis.coverage_dask import (
    GridSpec,
    coverage_dask,
    fixes_frame,
    read_fixes_parquet,
)
from gis.crs import from_metric, to_metric

X0, Y0 = (float(v[0]) for v in to_metric(np.array([120.285]), np.array([31.92])))
SIDE_M = 300.0
PARAMS = CoverageParams(resolution=11, distance_m=30.0, max_gap_s=300.0, pixel_m=2.0)
CODES = [f"32028100100100{k}" for k in range(1, 5)]


def square(x: float, y: float, side: float) -> shapely.Polygon:
    lon, lat = from_metric(
        np.array([x, x + side, x + side, x]), np.array([y, y, y + side, y + side])
    )
    return shapely.Polygon(np.column_stack((lon, lat)))


POLYGONS = [square(X0 + i * SIDE_M, Y0 + j * SIDE_M, SIDE_M) for j in range(2) for i in range(2)]
SPEC = GridSpec.from_polygons(CODES, POLYGONS, params=PARAMS)


def synthetic_fixes() -> pd.DataFrame:
    """Seven devices: random street walks over the 2 x 2 grids, with the awkward cases."""
    rng = np.random.default_rng(7)
    frames = []
    for d in range(6):
        n = 400
        t = 1_700_000_000 + np.arange(n) * 5.0
        step = rng.choice([-1.0, 1.0], size=(n, 1)) * rng.uniform(2, 8, (n, 1))
        axis = np.repeat(rng.integers(0, 2, n // 20), 20)
        xy = np.zeros((n, 2))
        xy[np.arange(n), axis] = step[:, 0]
        xy = np.cumsum(xy, axis=0) + rng.normal(0, 3, (n, 2))
        x = np.clip(X0 + 100 + 80 * d + xy[:, 0], X0 - 50, X0 + 2 * SIDE_M + 50)
        y = np.clip(Y0 + 100 + 60 * d + xy[:, 1], Y0 - 50, Y0 + 2 * SIDE_M + 50)
        valid = rng.random(n) > 0.05
        if d == 2:
            t[200:] += 900.0  # a 15 min silence: nothing drawn across it
        if d == 3:
            t[-1] += 3600.0  # a lone fix an hour later counts as a point
        frames.append(pd.DataFrame({"device": d, "t_s": t, "x": x, "y": y, "valid": valid}))
    far = pd.DataFrame(  # a device far from every grid
        {"device": 99, "t_s": 1_700_000_000 + np.arange(20) * 5.0,
         "x": X0 - 5000 + np.arange(20) * 5.0, "y": np.full(20, Y0 - 5000), "valid": True}
    )  # fmt: skip
    fixes = pd.concat([*frames, far], ignore_index=True).sample(frac=1.0, random_state=1)
    lon, lat = from_metric(fixes["x"].to_numpy(), fixes["y"].to_numpy())
    return fixes.assign(lon=lon, lat=lat).drop(columns=["x", "y"]).reset_index(drop=True)


FIXES = synthetic_fixes()


def single_process(chunks: list[list[int]]) -> CoverageResult:
    acc = CoverageAccumulator(SPEC.build(), PARAMS)
    for devices in chunks:
        f = FIXES[FIXES["device"].isin(devices)]
        acc.add(f["device"], f["t_s"], f["lon"], f["lat"], f["valid"])
    return acc.result()


def partitioned(groups: list[list[int]]) -> dd.DataFrame:
    """One partition per group of devices."""
    parts = [FIXES[FIXES["device"].isin(g)].reset_index(drop=True) for g in groups]
    return fixes_frame(dd.from_map(lambda i: parts[i], range(len(parts))))


def assert_identical(a: CoverageResult, b: CoverageResult) -> None:
    assert np.array_equal(a.covered, b.covered)
    assert a.grids == b.grids
    assert a.visits == b.visits
    assert a.devices == b.devices


REFERENCE = single_process([[0, 1, 2], [3, 4, 5, 99]])


def test_reference_case_is_not_trivial() -> None:
    shares = [g.buffer_share for g in REFERENCE.grids]
    assert all(0.01 < s < 0.99 for s in shares), shares
    assert sum(g.covered_cells for g in REFERENCE.grids) > 50
    assert len({v.code for v in REFERENCE.visits}) == 4
    assert REFERENCE.devices[2].silences and REFERENCE.devices[99].fixes == 20
    assert not any(v.device == 99 for v in REFERENCE.visits)


@pytest.mark.parametrize(
    "groups",
    [[[0, 1, 2, 3, 4, 5, 99]], [[0], [1, 2, 3], [4, 5, 99]], [[5, 99], [3], [0, 2], [1, 4]]],
)
def test_sync_scheduler_equals_single_process(groups: list[list[int]]) -> None:
    with dask.config.set(scheduler="sync"):
        result = coverage_dask(partitioned(groups), SPEC)
    assert_identical(result, REFERENCE)


def test_in_process_cluster_equals_single_process() -> None:
    with (
        LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        result = coverage_dask(partitioned([[0, 1], [2, 3], [4, 5, 99]]), SPEC, client=client)
    assert_identical(result, REFERENCE)


@pytest.mark.slow
def test_two_worker_processes_equal_single_process() -> None:
    with (
        LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        result = coverage_dask(partitioned([[0, 1, 2], [3], [4, 5, 99]]), SPEC, client=client)
    assert_identical(result, REFERENCE)


def test_device_split_over_partitions_is_refused() -> None:
    split = FIXES[FIXES["device"] == 1]
    parts = [FIXES[FIXES["device"] != 1], split.iloc[:100], split.iloc[100:]]
    frame = fixes_frame(dd.from_map(lambda i: parts[i].reset_index(drop=True), range(3)))
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError, match="device 1"):
        coverage_dask(frame, SPEC)


def test_other_crs_is_refused() -> None:
    frame = partitioned([[0, 1]]).to_crs(4549)
    with pytest.raises(ValueError, match="EPSG:4490"):
        coverage_dask(frame, SPEC)


def test_combined_states_are_the_accumulator_merge() -> None:
    grids = SPEC.build()
    accs = []
    for devices in ([0, 1], [2, 3, 4]):
        acc = CoverageAccumulator(grids, PARAMS)
        f = FIXES[FIXES["device"].isin(devices)]
        acc.add(f["device"], f["t_s"], f["lon"], f["lat"], f["valid"])
        accs.append(acc)
    packed = CoverageAccumulator(grids, PARAMS)
    packed.merge_state(combine_states([a.state() for a in accs]))
    accs[0].merge(accs[1])
    assert_identical(packed.result(), accs[0].result())


@pytest.mark.parametrize("points", [True, False])
def test_parquet_files_as_partitions(tmp_path, points: bool) -> None:
    paths = []
    for k, group in enumerate([[0, 1, 2], [3, 4], [5, 99]]):
        path = tmp_path / f"part-{k}.parquet"
        FIXES[FIXES["device"].isin(group)].to_parquet(path, index=False)
        paths.append(str(path))
    frame = read_fixes_parquet(paths, points=points)
    assert frame.npartitions == 3
    with dask.config.set(scheduler="sync"):
        result = coverage_dask(frame, SPEC)
    assert_identical(result, REFERENCE)


def test_rows_in_any_order_regrouped_by_a_shuffle_on_device() -> None:
    mixed = fixes_frame(dd.from_pandas(FIXES, npartitions=4, sort=False))
    frame = mixed.shuffle(on="device", npartitions=3)
    with dask.config.set(scheduler="sync"):
        result = coverage_dask(frame, SPEC)
    assert_identical(result, REFERENCE)
