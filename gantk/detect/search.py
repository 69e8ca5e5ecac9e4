"""Distances to the k nearest rows of a fixed reference, fast enough to score millions of rows.

Two reductions make the search cheap, and both are measured against the exact search on every
benchmark set (``benchmarks/detect_search.py``, docs/benchmarks.md):

* **A smaller space.** Rows are centred on the reference's mean and projected on the principal
  directions that hold all but ``1e-3`` of the reference's variance. What a row has outside them
  is kept as one more coordinate, its norm, so a row unlike every reference row in a direction
  they never vary in stays far from them: distances are exact for the reference and never larger
  than the exact ones.
* **Cells, for large references.** The reference is split by k-means into cells of about
  ``CELL_ROWS`` rows. A cell's candidates are its members' own 2k nearest rows (so a reference
  row's search is exact), then whole cells, nearest centre first, until there are at least
  ``MIN_CANDIDATES``. A query is compared with the candidates of the cell it falls in only: a few
  hundred rows instead of ten thousand, so a query costs the same however large the reference.

Built with ``leave_one_out``, a query that coincides with a reference row (a training row scored
again) is not its own neighbour: its k nearest are the *other* rows, so training rows score as new
rows from the same data would, and a threshold set on them holds for new rows.

The k nearest candidates are ranked by one GEMM, |r|² - 2q·r (|q|² is the same along a query's
row and is added to the k kept only), in float64: in float32 that expansion cancels badly for
near neighbours and its rounding depends on the batch. A row scores the same alone or in any
batch, up to float32 rounding in the layers that made its features.
"""

from __future__ import annotations

import itertools

import torch

#: the variance share the projection may drop
DROPPED_VARIANCE = 1e-3
#: references larger than this are split into cells
CELL_FROM = 4096
#: rows per cell, on average
CELL_ROWS = 64
#: fewest candidates a cell's queries are compared with
MIN_CANDIDATES = 512
#: queries ranked in one GEMM: bounds the (queries x candidates) block in memory
BLOCK = 8192
#: a query is a reference row where their distance is within this share of their norms: float32
#: rounding, which may differ between batches, leaves a row a little off itself
SAME_ROW = 1e-5


class NearestNeighbours:
    """Build with :meth:`build` from D's features of the reference rows; :meth:`state` gives the
    tensors a model directory keeps, and the constructor takes them back."""

    def __init__(self, state: dict[str, torch.Tensor], k: int, leave_one_out: bool = False):
        self.center, self.basis = state["center"], state["basis"]
        self.points = state["points"]  # the reference in the search space
        #: neighbours a query gets, and how many are searched for: one more when its own row
        #: may be among them
        self.k = max(1, min(k, len(self.points) - leave_one_out))
        self.searched = min(self.k + leave_one_out, len(self.points))
        self.norms = self.points.pow(2).sum(dim=1)
        self.typical_norm = self.norms.sqrt().mean()
        self.points64 = self.points.double()
        self.norms64 = self.points64.pow(2).sum(dim=1)
        self.centroids = state.get("centroids")
        self.candidates = state.get("candidates")  # (cells, width), padded with -1
        if self.centroids is not None:
            self.members = [row[row >= 0] for row in self.candidates]
            self.centroid_norms = self.centroids.pow(2).sum(dim=1)
            #: (cells, reference rows): each row's |r|² where it is one of the cell's candidates,
            #: 1e30 (never among the k nearest) where it is not; the traced ranking's bias
            self.cell_norms = torch.full((len(self.centroids), len(self.points)), 1e30)
            for cell, members in enumerate(self.members):
                self.cell_norms[cell, members] = self.norms[members]

    @classmethod
    def build(cls, reference: torch.Tensor, k: int, seed: int = 0, exact: bool = False,
              leave_one_out: bool = False) -> NearestNeighbours:
        """``exact``: neither reduction (what the benchmark measures the reductions against)."""
        reference = reference.float()
        center = reference.mean(dim=0)
        if exact:
            basis = torch.eye(reference.shape[1])
        else:
            _, singular, directions = torch.linalg.svd(reference - center, full_matrices=False)
            variance = singular.pow(2)
            kept = variance.cumsum(dim=0) < (1 - DROPPED_VARIANCE) * variance.sum()
            basis = directions[:int(kept.sum()) + 1].T.contiguous()
        state = {"center": center, "basis": basis}
        state["points"] = _into_space(reference, center, basis)
        if len(reference) > CELL_FROM and not exact:
            # the same cells with leave_one_out: each member's 2k nearest hold its k others too
            state.update(_cells(state["points"], max(k, 1), seed))
        return cls(state, k, leave_one_out)

    def state(self) -> dict[str, torch.Tensor]:
        state = {"center": self.center, "basis": self.basis, "points": self.points}
        if self.centroids is not None:
            state.update(centroids=self.centroids, candidates=self.candidates)
        return state

    def to_space(self, queries: torch.Tensor) -> torch.Tensor:
        return _into_space(queries, self.center, self.basis)

    # -- the search -------------------------------------------------------------------------
    def nearest(self, queries: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """(N, k) indices into the reference of each query's nearest rows, nearest first."""
        k = min(k or self.k, self.k)
        points = self.to_space(queries)
        distances, found = self._search(points, k + self.searched - self.k, indices=True)
        return self._others(points, distances, found, k)

    def distances(self, queries: torch.Tensor) -> torch.Tensor:
        """(N, k) distances to each query's k nearest, ascending."""
        points = self.to_space(queries)
        distances, _ = self._search(points, self.searched)
        return self._others(points, distances, distances, self.k)

    def _others(self, points: torch.Tensor, distances: torch.Tensor, kept: torch.Tensor,
                k: int) -> torch.Tensor:
        """``kept`` (the searched neighbours' distances or indices, ``distances`` ascending) for
        the k that are not the query's own row: one more was searched with ``leave_one_out``,
        and the nearest is dropped where it coincides with the query, else the farthest."""
        if kept.shape[1] == k:
            return kept
        own = distances[:, :1] <= SAME_ROW * (points.norm(dim=1, keepdim=True)
                                              + self.typical_norm)
        return torch.where(own, kept[:, 1:], kept[:, :-1])

    def _search(self, points: torch.Tensor, k: int,
                indices: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Distances (and with ``indices``, indices) of the k nearest, cell by cell (or all rows
        when no cells). The queries are put in cell order once, so each cell's are one
        contiguous slice, and the results put back in query order once: per-cell gathers and
        scatters would cost more than the ranking for a few hundred queries a cell."""
        if self.centroids is None:
            order, groups = None, [(0, len(points), None)]
        else:
            cells = self._cell_of(points)
            order = torch.argsort(cells, stable=True)
            points = points[order]
            counts = torch.bincount(cells, minlength=len(self.members)).tolist()
            starts = [0, *itertools.accumulate(counts)]
            groups = [(starts[cell], starts[cell + 1], self.members[cell])
                      for cell in range(len(counts)) if counts[cell]]
        points = points.double()
        distances = torch.empty((len(points), k))
        found = torch.empty((len(points), k), dtype=torch.long) if indices else None
        for start, stop, members in groups:
            for block in range(start, stop, BLOCK):
                end = min(block + BLOCK, stop)
                near, where = self._rank(points[block:end], members, k)
                distances[block:end] = near
                if found is not None:
                    found[block:end] = where if members is None else members[where]
        if order is not None:  # back to the queries' order
            distances = torch.empty_like(distances).index_copy_(0, order, distances)
            if found is not None:
                found = torch.empty_like(found).index_copy_(0, order, found)
        return distances, found

    def _rank(self, points: torch.Tensor, members: torch.Tensor | None,
              k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The k nearest's distances and their positions among ``members`` (or the reference).
        In float64: the expansion cancels too badly in float32 for near neighbours."""
        reference, norms = self.points64, self.norms64
        if members is not None:
            reference, norms = reference[members], norms[members]
        ranked = torch.addmm(norms, points, reference.T, alpha=-2)
        values, positions = torch.topk(ranked, k, dim=1, largest=False, sorted=True)
        squared = values + points.pow(2).sum(dim=1, keepdim=True)
        return squared.clamp_min(0).sqrt().float(), positions

    def _cell_of(self, points: torch.Tensor) -> torch.Tensor:
        return _nearest_centroid(points, self.centroids, self.centroid_norms)

    def traced_distances(self, queries: torch.Tensor) -> torch.Tensor:
        """``distances`` without a data-dependent loop, for ``gantk export`` to trace: one
        float32 product against the whole reference, whose bias puts rows outside the query's
        cell candidates out of reach (the same candidates ``distances`` ranks); the k kept, then
        their distances computed directly. float32 ranking may swap near-ties that float64 keeps
        apart; the export's check against PyTorch bounds what that changes."""
        points = self.to_space(queries)
        bias = self.norms if self.centroids is None else self.cell_norms[self._cell_of(points)]
        ranked = torch.addmm(bias, points, self.points.T, alpha=-2)
        nearest = torch.topk(ranked, self.searched, dim=1, largest=False).indices
        distances = (points.unsqueeze(1) - self.points[nearest]).pow(2).sum(dim=2).sqrt()
        distances = distances.sort(dim=1).values
        return self._others(points, distances, distances, self.k)

    def mean_distance(self, queries: torch.Tensor) -> torch.Tensor:
        return self.distances(queries).mean(dim=1)


def _into_space(rows: torch.Tensor, center: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Coordinates along ``basis``, plus the norm of what lies outside it (computed from the
    remainder itself, not as a difference of norms, which would cancel)."""
    centred = rows.float() - center
    projected = centred @ basis
    outside = centred - projected @ basis.T
    return torch.cat([projected, torch.einsum("ij,ij->i", outside, outside).sqrt()
                      .unsqueeze(1)], dim=1)


def _nearest_centroid(points: torch.Tensor, centroids: torch.Tensor,
                      norms: torch.Tensor | None = None) -> torch.Tensor:
    norms = centroids.pow(2).sum(dim=1) if norms is None else norms
    return torch.addmm(norms, points, centroids.T, alpha=-2).argmin(dim=1)


def _rows_nearest(queries: torch.Tensor, points: torch.Tensor, k: int) -> torch.Tensor:
    ranked = torch.addmm(points.pow(2).sum(dim=1), queries, points.T, alpha=-2)
    return torch.topk(ranked, min(k, len(points)), dim=1, largest=False).indices


def _cells(points: torch.Tensor, k: int, seed: int, iterations: int = 20) -> dict:
    """k-means centres (Lloyd's, seeded) and each cell's candidates, padded with -1."""
    generator = torch.Generator().manual_seed(seed)
    count = max(2, len(points) // CELL_ROWS)
    centroids = points[torch.randperm(len(points), generator=generator)[:count]].clone()
    for _ in range(iterations):
        assigned = _nearest_centroid(points, centroids)
        sizes = torch.bincount(assigned, minlength=count)
        sums = torch.zeros_like(centroids).index_add_(0, assigned, points)
        filled = sizes > 0
        centroids[filled] = sums[filled] / sizes[filled].unsqueeze(1).float()
    assigned = _nearest_centroid(points, centroids)
    filled = torch.bincount(assigned, minlength=count) > 0
    centroids = centroids[filled]
    assigned = _nearest_centroid(points, centroids)
    members = [torch.nonzero(assigned == cell).flatten() for cell in range(len(centroids))]
    # every member's own 2k nearest rows: a query near a member has its neighbours among them
    graph = torch.cat([_rows_nearest(points[start:start + 1024], points, 2 * k)
                       for start in range(0, len(points), 1024)])
    needed = min(max(MIN_CANDIDATES, k), len(points))
    lists = []
    for cell, near in enumerate(torch.cdist(centroids, centroids).argsort(dim=1).tolist()):
        chosen = torch.unique(graph[members[cell]])
        for other in near:  # then whole cells, nearest centre first, up to the minimum
            if len(chosen) >= needed:
                break
            chosen = torch.unique(torch.cat([chosen, members[other]]))
        lists.append(chosen)
    width = max(len(row) for row in lists)
    candidates = torch.full((len(lists), width), -1, dtype=torch.long)
    for cell, row in enumerate(lists):
        candidates[cell, :len(row)] = row
    return {"centroids": centroids, "candidates": candidates}
