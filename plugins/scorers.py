"""Built-in anomaly scorers. Each says which idea it follows; docs/scores.md compares them."""

from __future__ import annotations

import copy

import torch
from torch import nn

from gantk.detect.scoring import Scorer, discriminator_features, map_in_chunks
from gantk.detect.search import NearestNeighbours
from gantk.errors import GantkError, ModelFileError
from gantk.hookspecs import hookimpl
from gantk.model.directory import GANModel

#: most rows kept as the k-NN reference: bounds memory and time for scoring millions of rows
REFERENCE_ROWS = 10_000


@torch.no_grad()
def generated_rows(model: GANModel, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` rows from G, in the encoded space the training rows are in."""
    noise = torch.randn(count, model.spec.latent_dim, generator=torch.Generator().manual_seed(seed))
    return map_in_chunks(lambda z: model.generator(z, None), noise, model.generator)


def weeks_left_out(model: GANModel | None) -> list[int]:
    """A date-time column's week, as encoded: no scorer reads it. Rows scored after training (a
    saved detector, ``--train CLEAN``) are recorded in weeks no training row reached, which made
    nearly every one of them an outlier; the column's weekday and time of day still count."""
    if model is None or model.codec.kind != "table":
        return []
    return model.codec.transformer.week_positions()


def set_to_zero(rows: torch.Tensor, positions: list[int]) -> torch.Tensor:
    """``rows`` with the values at ``positions`` set to 0 (the median week of quantile-normalised
    weeks), the same for every row; a product, so it traces into an ONNX graph."""
    if not positions:
        return rows
    kept = torch.ones(rows.shape[1], dtype=rows.dtype, device=rows.device)
    kept[positions] = 0
    return rows * kept


def without_weeks(model: GANModel, rows: torch.Tensor) -> torch.Tensor:
    return set_to_zero(rows, weeks_left_out(model))


class DiscriminatorScorer(Scorer):
    """``disc``: D's logit. Anomalies sit where the generator puts little mass, so D has only ever
    seen real points there and calls them real with confidence: a high logit means anomalous.
    (PyOD's GAAL detectors read D the other way round.) The weakest scorer: docs/scores.md."""

    def score(self, model, features):
        return map_in_chunks(self.graph(model), features, model.discriminator)

    def graph(self, model):
        return lambda x: model.discriminator(without_weeks(model, x))


class NeighbourScorer(Scorer):
    """k-NN distances to fixed references, each view put on the scale of the training rows' own
    values (minus their median, over their interquartile range) and the views added.

    A view is (reference, space, ks): the mean distance to the k nearest rows of the reference,
    for each k. References: ``training`` (up to ``REFERENCE_ROWS`` training rows; a row is never
    its own neighbour, so the training rows' scores, and the threshold set on them, are what new
    rows from the same data would get) or ``generated`` (as many of G's rows). Spaces:
    ``features`` (D's last hidden layer) or ``encoded`` (the rows as gantk encodes them).
    Subclasses name their views.
    """

    views: tuple[tuple[str, str, tuple[int, ...]], ...] = ()

    def __init__(self):
        self.searches: list[NearestNeighbours] = []
        self.rows: list[torch.Tensor] = []  # each view's reference as encoded rows, for explain()
        self.scale = torch.zeros(2, sum(len(ks) for _, _, ks in self.views))
        #: search every reference row in the full space (benchmarks/detect_search.py measures
        #: the default's reductions against it)
        self.exact_search = False
        #: encoded values no view reads: each date-time column's week (``weeks_left_out``)
        self.left_out: list[int] = []

    def fit(self, model, features, seed=0):
        self.fit_score(model, features, seed)
        return self

    def fit_score(self, model, features, seed=0):
        self.left_out = weeks_left_out(model)
        spaces = self._spaces(model, features)  # once: the training reference is a subset
        pick = torch.arange(len(features))
        if len(features) > REFERENCE_ROWS:
            pick = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
            pick = pick[:REFERENCE_ROWS]
        generated = None
        self.searches, self.rows = [], []
        for reference, space, ks in self.views:
            if reference == "training":
                rows, points = features[pick], spaces[space][pick]
            else:
                if generated is None:
                    generated = generated_rows(model, len(pick), seed)
                rows, points = generated, self._spaces(model, generated)[space]
            self.rows.append(self._read(rows))
            self.searches.append(NearestNeighbours.build(
                points, max(ks), seed, self.exact_search, leave_one_out=reference == "training"))
        views = self._distances(spaces)
        quartiles = torch.quantile(views, torch.tensor([0.25, 0.5, 0.75]), dim=0)
        self.scale = torch.stack([quartiles[1], (quartiles[2] - quartiles[0]).clamp_min(1e-12)])
        return self._combine(views)

    @classmethod
    def without_the_gan(cls) -> NeighbourScorer:
        """The same views with the training rows as every reference, in the encoded space: what
        the scores would be with no GAN trained (the benchmark's ablation). Fits and scores
        with ``model=None``."""
        views = tuple(("training", "encoded", ks) for _, _, ks in cls.views)
        return type(f"{cls.__name__}WithoutTheGAN", (cls,), {"views": views})()

    def _read(self, rows: torch.Tensor) -> torch.Tensor:
        """The encoded rows as the views read them: the values left out set to 0."""
        return set_to_zero(rows, self.left_out)

    def _spaces(self, model, features, traced: bool = False) -> dict[str, torch.Tensor]:
        """The queries in every space a view searches."""
        features = self._read(features)
        needed = {space for _, space, _ in self.views}
        spaces = {"encoded": features}
        if "features" in needed:
            spaces["features"] = (model.discriminator.features(features) if traced
                                  else discriminator_features(model, features))
        return spaces

    def _distances(self, spaces: dict[str, torch.Tensor], traced: bool = False) -> torch.Tensor:
        """(N, views): the mean distance to the k nearest, for each view and k."""
        columns = []
        for (_, space, ks), search in zip(self.views, self.searches, strict=True):
            distances = (search.traced_distances(spaces[space]) if traced
                         else search.distances(spaces[space]))
            columns += [distances[:, :min(k, distances.shape[1])].mean(dim=1) for k in ks]
        return torch.stack(columns, dim=1)

    def _combine(self, views: torch.Tensor) -> torch.Tensor:
        return ((views - self.scale[0]) / self.scale[1]).sum(dim=1)

    def score(self, model, features):
        return self._combine(self._distances(self._spaces(model, features)))

    def explain(self, model, features):
        """Per encoded value, its squared difference from each view's 5 nearest reference rows,
        summed over views: a row's largest sit where it is unlike the rows it is closest to."""
        features = self._read(features)
        spaces = self._spaces(model, features)
        parts = torch.zeros_like(features)
        for (_, space, ks), search, rows in zip(self.views, self.searches, self.rows,
                                                strict=True):
            nearest = search.nearest(spaces[space], min(ks))
            parts += (features.unsqueeze(1) - rows[nearest]).pow(2).mean(dim=1)
        return parts

    def state(self):
        state = {"scale": self.scale}
        for view, (search, rows) in enumerate(zip(self.searches, self.rows, strict=True)):
            state.update({f"view{view}.search.{key}": value
                          for key, value in search.state().items()})
            state[f"view{view}.rows"] = rows
        return state

    def load_state(self, model, state):
        if any(f"view{view}.search.points" not in state for view in range(len(self.views))):
            raise ModelFileError(f"this detector was saved by an older gantk, whose {self.name} "
                                 "scores differ; train it again")
        self.left_out = weeks_left_out(model)
        self.searches, self.rows = [], []
        for view, (reference, _, ks) in enumerate(self.views):
            prefix = f"view{view}.search."
            search = {key[len(prefix):]: value for key, value in state.items()
                      if key.startswith(prefix)}
            self.searches.append(NearestNeighbours(search, max(ks),
                                                   leave_one_out=reference == "training"))
            self.rows.append(state[f"view{view}.rows"])
        self.scale = state["scale"]

    def graph(self, model):
        return lambda x: self._combine(self._distances(self._spaces(model, x, traced=True),
                                                       traced=True))


class FeatureKNNScorer(NeighbourScorer):
    """``dknn``: distances to the nearest training rows in D's feature space. D learned which
    directions separate real rows from near-misses; distances there weigh columns by what D found
    telling, where raw k-NN weighs every column alike. Two views: the 5 nearest (local: a row
    alone in a gap) and the 35 nearest (wider: a small cluster of anomalies that are each other's
    neighbours)."""

    views = (("training", "features", (5, 35)),)


class GeneratedKNNScorer(NeighbourScorer):
    """``gknn``: distances to the generator's rows. A generator trained briefly covers the bulk
    of the data before its rare modes, so anomalies that are each other's neighbours among the
    training rows (a dense cluster, values repeated in a tail) are still far from G's rows; the 5
    nearest training rows keep the resolution clean training data gives. Views and budget chosen
    on the choose sets only (``benchmarks/detect_choose.py``; docs/benchmarks.md)."""

    views = (("training", "encoded", (5,)), ("generated", "encoded", (5, 35)))


class Encoder(nn.Module):
    """x → z, built from a copy of D's feature layers plus a linear head (f-AnoGAN's izi setup)."""

    def __init__(self, discriminator: nn.Module, feature_size: int, latent_dim: int):
        super().__init__()
        self.body = copy.deepcopy(discriminator)
        self.head = nn.Linear(feature_size, latent_dim)

    def forward(self, x):
        return torch.tanh(self.head(self.body.features(x))) * 3


class EncoderScorer(Scorer):
    """``izif``: f-AnoGAN (Schlegl et al. 2019). With G and D frozen, an encoder E learns to map each
    training row to the z that regenerates it; the score is the reconstruction error
    ||x - G(E(x))||² plus the residual in D's features ||f(x) - f(G(E(x)))||². Rows unlike the
    training data regenerate badly."""

    def __init__(self, steps: int = 400, batch_size: int = 256, kappa: float = 1.0):
        self.steps, self.batch_size, self.kappa = steps, batch_size, kappa
        self.encoder: Encoder | None = None

    def _make_encoder(self, model: GANModel, example: torch.Tensor) -> Encoder:
        with torch.no_grad():
            size = model.discriminator.features(example[:2]).shape[1]
        return Encoder(model.discriminator, size, model.spec.latent_dim)

    def fit(self, model, features, seed=0):
        torch.manual_seed(seed)
        device = next(model.generator.parameters()).device
        features = features.to(device)
        self.encoder = self._make_encoder(model, features).to(device).train()
        model.generator.requires_grad_(False)
        model.discriminator.requires_grad_(False)
        optimizer = torch.optim.Adam(self.encoder.parameters(), lr=1e-3, betas=(0.5, 0.999))
        order = torch.Generator().manual_seed(seed)
        for _ in range(self.steps):
            index = torch.randint(len(features), (min(self.batch_size, len(features)),),
                                  generator=order).to(device)
            loss = self._residuals(model, features[index]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.generator.requires_grad_(True)
        model.discriminator.requires_grad_(True)
        self.encoder.eval()
        return self

    def _residuals(self, model, x):
        x = without_weeks(model, x)
        rebuilt = without_weeks(model, model.generator(self.encoder(x), None))
        pixels = (x - rebuilt).pow(2).flatten(1).mean(dim=1)
        features = (model.discriminator.features(x) - model.discriminator.features(rebuilt))
        return pixels + self.kappa * features.pow(2).mean(dim=1)

    def score(self, model, features):
        return map_in_chunks(self.graph(model), features, model.generator)

    def graph(self, model):
        return lambda x: self._residuals(model, x)

    def state(self):
        return {f"encoder.{k}": v for k, v in self.encoder.state_dict().items()}

    def load_state(self, model, state):
        example = torch.zeros((2, *model.spec.data_shape))
        self.encoder = self._make_encoder(model, example)
        self.encoder.load_state_dict({k[len("encoder."):]: v for k, v in state.items()})
        self.encoder.eval()


class VAEScorer(Scorer):
    """``vae``: for models trained with the ``vaegan`` architecture. The VAE-GAN's own encoder gives
    each row its most likely z; the score is the reconstruction error of G(mean) plus the distance
    in D's features, the measure the VAE-GAN was trained to minimise. Nothing extra to fit."""

    architecture = "vaegan"

    def fit(self, model, features, seed=0):
        if not hasattr(model.generator, "encode"):
            raise GantkError(f"scorer 'vae' needs the vaegan architecture, not "
                             f"{model.config['architecture']!r}")
        return self

    def score(self, model, features):
        return map_in_chunks(self.graph(model), features, model.generator)

    def graph(self, model):
        def residual(x):
            x = without_weeks(model, x)
            rebuilt = without_weeks(model, model.generator(model.generator.encode(x)[0], None))
            in_features = (model.discriminator.features(x)
                           - model.discriminator.features(rebuilt)).pow(2).mean(dim=1)
            return (x - rebuilt).pow(2).mean(dim=1) + in_features

        return residual


class EnsembleScorer(Scorer):
    """``vae+dknn``: two views of one VAE-GAN, rank-averaged. ``vae`` catches rows the model cannot
    rebuild, ``dknn`` rows far from the others in D's features; they fail on different data sets
    (docs/benchmarks.md).
    Each member's score becomes its quantile among the training rows' scores, so neither dominates
    by scale, and the two quantiles are averaged."""

    architecture = "vaegan"

    def __init__(self):
        self.members = {"dknn": FeatureKNNScorer(), "vae": VAEScorer()}
        for name, member in self.members.items():
            member.name = name
        self.training_scores: dict[str, torch.Tensor] = {}

    def fit(self, model, features, seed=0):
        for name, member in self.members.items():
            member.fit(model, features, seed)
            self.training_scores[name] = member.score(model, features).sort().values
        return self

    def score(self, model, features):
        quantiles = [
            torch.searchsorted(self.training_scores[name], member.score(model, features)).float()
            / len(self.training_scores[name])
            for name, member in self.members.items()
        ]
        return torch.stack(quantiles).mean(dim=0)

    def state(self):
        state = {f"training_scores.{name}": scores for name, scores in self.training_scores.items()}
        for name, member in self.members.items():
            state.update({f"{name}.{key}": value for key, value in member.state().items()})
        return state

    def load_state(self, model, state):
        for name, member in self.members.items():
            self.training_scores[name] = state[f"training_scores.{name}"]
            member.load_state(model, {key[len(name) + 1:]: value for key, value in state.items()
                                      if key.startswith(f"{name}.")})


@hookimpl
def gantk_register_scorers(register):
    register("gknn", GeneratedKNNScorer,
             description="k-NN distance to G's rows and the training rows (default for tables)")
    register("dknn", FeatureKNNScorer, description="k-NN distance in D's feature space")
    register("izif", EncoderScorer, description="f-AnoGAN encoder: reconstruction + D-feature residual")
    register("disc", DiscriminatorScorer, description="D's own logit, oriented to anomalies")
    register("vae", VAEScorer, description="VAE-GAN encoder: reconstruction in data and D features")
    register("vae+dknn", EnsembleScorer, description="rank average of vae and dknn on one VAE-GAN")

