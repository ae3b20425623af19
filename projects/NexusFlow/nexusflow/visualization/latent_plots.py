"""Plot per-task latent vectors before (h) and after (z) the flow, and score their separation."""
import os
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Tuple

import matplotlib
import numpy as np
# A Figure without pyplot draws off-screen and leaves the global backend alone.
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

_MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '*')
_METHOD_NAMES = {'pca': 'PCA', 'tsne': 't-SNE'}


def stack_by_task(vectors: Mapping[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Stack the vectors of all tasks into one array with task labels.

    Args:
        vectors (Mapping[str, np.ndarray]): Task -> (N, D) vectors; every
            task has the same N samples in the same order.

    Returns:
        tuple[np.ndarray, np.ndarray]: (T * N, D) float64 vectors, task
        after task in the mapping's order, and (T * N,) task names.
    """
    if len(vectors) < 2:
        raise ValueError(f'need vectors of at least two tasks, got tasks {list(vectors)}.')
    arrays = {task: np.asarray(v, dtype=np.float64) for task, v in vectors.items()}
    shapes = {task: a.shape for task, a in arrays.items()}
    if any(a.ndim != 2 for a in arrays.values()) or len(set(shapes.values())) != 1:
        raise ValueError(
            f'every task needs an (N, D) array of the same shape, got {shapes}.')
    points = np.concatenate(list(arrays.values()))
    labels = np.concatenate([[task] * len(a) for task, a in arrays.items()])
    return points, labels


def separation_score(points: np.ndarray, labels: Sequence, seed: int = 0,
                     max_points: int = 5000) -> float:
    """Return the silhouette score of ``labels`` in ``points`` (Euclidean).

    Near 1 when the labelled groups are compact and far apart, near 0 when
    they overlap, negative when points sit closer to other groups.

    Args:
        points (np.ndarray): (M, D) vectors.
        labels (Sequence): (M,) group label per point.
        seed (int): Seed of the subsample taken when M > ``max_points``.
            Defaults to 0.
        max_points (int): Points scored at most, because the score costs
            O(M^2). Defaults to 5000.

    Returns:
        float: Silhouette score in [-1, 1]; NaN with fewer than two groups or
        no more points than groups.
    """
    labels = np.asarray(labels)
    num_groups = len(np.unique(labels))
    if num_groups < 2 or len(points) <= num_groups:
        return float('nan')
    sample_size = min(len(points), max_points)
    if sample_size < len(points):
        return float(silhouette_score(points, labels, sample_size=sample_size,
                                      random_state=seed))
    return float(silhouette_score(points, labels))


def project_2d(points: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Project (M, D) vectors to (M, 2) with ``'pca'`` or ``'tsne'``."""
    if method == 'pca':
        if points.shape[1] < 2:
            return np.concatenate([points, np.zeros_like(points)], axis=1)
        return PCA(n_components=2, random_state=seed).fit_transform(points)
    if method == 'tsne':
        # t-SNE needs perplexity < number of points.
        perplexity = float(min(30.0, max(2.0, (len(points) - 1) / 3.0)))
        return TSNE(n_components=2, perplexity=perplexity, init='pca',
                    random_state=seed).fit_transform(points)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")


def _scatter(ax, xy: np.ndarray, groups: np.ndarray, markers: Optional[np.ndarray],
             title: str) -> None:
    colors = matplotlib.colormaps['tab10']
    for g_index, group in enumerate(np.unique(groups)):
        selected = groups == group
        marker_values = np.unique(markers[selected]) if markers is not None else [None]
        for m_index, marker in enumerate(marker_values):
            chosen = selected if marker is None else selected & (markers == marker)
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=10, alpha=0.7,
                       color=colors(g_index % 10),
                       marker=_MARKERS[m_index % len(_MARKERS)],
                       label=str(group) if m_index == 0 else None)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, loc='best', markerscale=1.5)


def latent_figure(h: Mapping[str, np.ndarray],
                  z: Mapping[str, np.ndarray],
                  city: Optional[Sequence[str]] = None,
                  out_path: str = 'latents.png',
                  use_tsne: bool = True,
                  seed: int = 0) -> Tuple[str, Dict[str, float]]:
    """Plot h and z of every task in 2-D and score how well tasks separate.

    The figure has a row for h (the reduced vectors before the flow) and a
    row for z (the flow codes). Columns: PCA and t-SNE coloured by task,
    then, when cities are given, PCA and t-SNE coloured by city. In the
    task columns, the marker shape shows the city.

    Args:
        h (Mapping[str, np.ndarray]): Task -> (N, D) reduced vectors.
        z (Mapping[str, np.ndarray]): Task -> (N, D) codes, same tasks and
            sample order as ``h``.
        city (Sequence[str], optional): (N,) city of each sample.
        out_path (str): PNG to write; its folder is created.
            Defaults to ``'latents.png'``.
        use_tsne (bool): Whether to add the t-SNE columns. Defaults to True.
        seed (int): Seed of PCA, t-SNE and the score's subsample.
            Defaults to 0.

    Returns:
        tuple[str, dict[str, float]]: ``out_path`` and the silhouette scores
        ``silhouette_task_h`` and ``silhouette_task_z`` (task labels), plus
        ``silhouette_city_h`` and ``silhouette_city_z`` with cities. High
        task scores mean the tasks occupy separate regions; after a
        successful alignment ``silhouette_task_z`` is low.
    """
    if list(h) != list(z):
        raise ValueError(f'h and z must have the same tasks in the same order, '
                         f'got {list(h)} and {list(z)}.')
    h_points, task_labels = stack_by_task(h)
    z_points, _ = stack_by_task(z)
    num_samples = len(next(iter(h.values())))
    city_labels = None
    if city is not None:
        city = np.asarray(city).astype(str)
        if len(city) != num_samples:
            raise ValueError(f'got {len(city)} cities for {num_samples} samples.')
        city_labels = np.tile(city, len(h))

    scores = {
        'silhouette_task_h': separation_score(h_points, task_labels, seed),
        'silhouette_task_z': separation_score(z_points, task_labels, seed),
    }
    if city_labels is not None:
        scores['silhouette_city_h'] = separation_score(h_points, city_labels, seed)
        scores['silhouette_city_z'] = separation_score(z_points, city_labels, seed)

    methods = ['pca', 'tsne'] if use_tsne else ['pca']
    colourings = [('task', task_labels, city_labels)]
    if city_labels is not None:
        colourings.append(('city', city_labels, None))
    num_cols = len(methods) * len(colourings)
    fig = Figure(figsize=(3.6 * num_cols, 7.0))
    axes = fig.subplots(2, num_cols, squeeze=False)
    for row, (name, points) in enumerate((('h', h_points), ('z', z_points))):
        projections = {m: project_2d(points, m, seed) for m in methods}
        col = 0
        for colour_name, groups, markers in colourings:
            for method in methods:
                score = scores.get(f'silhouette_{colour_name}_{name}', float('nan'))
                title = (f'{name}: {_METHOD_NAMES[method]} by {colour_name} '
                         f'(silhouette {score:.2f})')
                _scatter(axes[row, col], projections[method], groups, markers, title)
                col += 1
    fig.suptitle('Task latents before (h) and after (z) the flow', fontsize=11)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=100)
    return out_path, scores


class LatentRecorder:
    """Record each task's reduced vector h and code z while a NexusFlow module runs.

    Forward hooks on every task's surrogate network catch the reducer's
    output (h, (B, D)) and the surrogate's output code (z, (B, D)) whenever
    the module encodes latents, e.g. inside the owning model's ``loss``.
    Use it as a context manager so the hooks are removed afterwards.

    Args:
        nexusflow (nn.Module): A :class:`~nexusflow.flows.NexusFlow` module,
            with ``tasks`` and ``surrogates`` (task -> SurrogateNetwork with
            a ``reducer``).
    """

    def __init__(self, nexusflow):
        if nexusflow is None or not hasattr(nexusflow, 'surrogates'):
            raise ValueError(
                'LatentRecorder needs the NexusFlow module of a model '
                '(model.nexusflow), got None. Latents exist only in models '
                'built with a NexusFlow module.')
        self.nexusflow = nexusflow
        self.tasks = tuple(nexusflow.tasks)
        self.h: Dict[str, list] = {task: [] for task in self.tasks}
        self.z: Dict[str, list] = {task: [] for task in self.tasks}
        self._handles = []

    def __enter__(self) -> 'LatentRecorder':
        for task in self.tasks:
            surrogate = self.nexusflow.surrogates[task]
            self._handles.append(surrogate.reducer.register_forward_hook(
                self._make_hook(self.h[task], from_code=False)))
            self._handles.append(surrogate.register_forward_hook(
                self._make_hook(self.z[task], from_code=True)))
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @staticmethod
    def _make_hook(store: list, from_code: bool):

        def hook(module, inputs, output):
            value = output.z if from_code else output
            store.append(value.detach().float().cpu().numpy())

        return hook

    def arrays(self) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Return the recorded h and z, each task -> (N, D), in call order."""
        counts = {task: len(self.h[task]) for task in self.tasks}
        if not any(counts.values()):
            raise ValueError(
                'LatentRecorder recorded nothing: the model never ran its '
                'NexusFlow module. Run the model in loss mode.')
        h = {task: np.concatenate(self.h[task]) for task in self.tasks}
        z = {task: np.concatenate(self.z[task]) for task in self.tasks}
        return h, z
